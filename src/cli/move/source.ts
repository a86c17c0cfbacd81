import type { Row, TableCopy } from './tables.ts'

/** A refusal or failure of the move, told to the operator as one line (exit code 1). */
export class MoveError extends Error {
  override name = 'MoveError'
}

/** A URL as it may be printed: its password replaced by ***. */
export function redact (url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return url
  }
}

/** The text of an error, also for those whose message is empty (a refused connection to every address of a host). */
export function reason (err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  if (err.message !== '') return err.message
  const first = (err as Error & { errors?: unknown[] }).errors?.[0]
  if (first instanceof Error && first.message !== '') return first.message
  return (err as Error & { code?: string }).code ?? err.name
}

/** A batch of rows of one table. */
export interface Chunk {
  table: TableCopy
  rows: Row[]
}

/** A deployment's data as the move reads it: a SQLite file or a Redis (alone or a cluster). */
export interface MoveSource {
  /** What it is, for the operator: "SQLite file data/chat.sqlite". */
  readonly description: string
  /** The rows of every table it has, in batches, a room's rows never before the room's. */
  chunks (tables: readonly TableCopy[]): AsyncIterable<Chunk>
  /** The value a serial column's sequence had reached on the source (rows since deleted included); 0 when unknown. */
  highWater (table: TableCopy): number
  /** What is not moved and should be known (undelivered events on Redis…): lines to print. */
  notes (): Promise<string[]>
  close (): Promise<void>
}
