import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'

/** What the kernel says about processes and cores, read from /proc. */

let clockTicks: number | undefined

/** Clock ticks per second (`getconf CLK_TCK`), the unit of /proc/<pid>/stat times. */
export function clkTck (): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      clockTicks = 100
    }
  }
  return clockTicks
}

/** CPU seconds (user + system, every thread) a process has used so far. */
export function processCpuSeconds (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Field 2 (comm) may contain spaces; the fields after its closing parenthesis start at 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(fields[14 - 3])
  const stime = Number(fields[15 - 3])
  return (utime + stime) / clkTck()
}

/** Resident set size of a process in KiB (VmRSS). */
export function processRssKiB (pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
  return match === null ? NaN : Number(match[1])
}

/** The soft limit on open files of a process. */
export function processOpenFilesLimit (pid: number): number {
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8')
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits)
  return match === null || match[1] === 'unlimited' ? Infinity : Number(match[1])
}

export interface CoreTimes { busy: number, total: number }

/** Busy and total jiffies per core, from /proc/stat. */
export function coreTimes (): CoreTimes[] {
  const cores: CoreTimes[] = []
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const match = /^cpu(\d+)\s+(.*)$/.exec(line)
    if (match === null) continue
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    const values = match[2]!.trim().split(/\s+/).slice(0, 8).map(Number)
    const total = values.reduce((sum, value) => sum + value, 0)
    const idle = values[3]! + values[4]!
    cores[Number(match[1])] = { busy: total - idle, total }
  }
  return cores
}

/** Busy share (0..1) of each core between two readings. */
export function busyShares (before: CoreTimes[], after: CoreTimes[]): number[] {
  return after.map((core, index) => {
    const start = before[index]
    if (start === undefined) return NaN
    const total = core.total - start.total
    return total > 0 ? (core.busy - start.busy) / total : NaN
  })
}

let tasksetPath: string | null | undefined

/** The path of `taskset`, or null when it is not installed. */
export function taskset (): string | null {
  if (tasksetPath === undefined) {
    try {
      tasksetPath = execFileSync('sh', ['-c', 'command -v taskset'], { encoding: 'utf8' }).trim() || null
    } catch {
      tasksetPath = null
    }
  }
  return tasksetPath
}

/**
 * Pins this process (every thread, and so every thread it starts later) to `cpu`.
 * Returns false when taskset is missing or the core does not exist.
 */
export function pinSelf (cpu: number): boolean {
  const path = taskset()
  if (path === null || cpus().length <= cpu) return false
  try {
    execFileSync(path, ['-a', '-cp', String(cpu), String(process.pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export interface Machine {
  cpuModel: string
  cores: number
  node: string
  platform: string
  kernel: string
  clkTck: number
  taskset: boolean
  openFilesLimit: number
}

export function machine (): Machine {
  let kernel = ''
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()
  } catch {}
  const model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
  return {
    cpuModel: model?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    kernel,
    clkTck: clkTck(),
    taskset: taskset() !== null,
    openFilesLimit: processOpenFilesLimit(process.pid)
  }
}
