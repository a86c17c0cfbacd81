import type { RedisClient } from './connection.ts'
import { partitionKeys, partitionOf, roomKey } from './keys.ts'
import { NOW_LUA } from './lua.ts'
import { RECORD_LUA } from './outbox.ts'
import type { RedisAppendHook, RoomScript } from './storage.ts'

/**
 * The core's keys of a room, in the order room scripts get them; features' keys follow. `outbox`
 * is the partition's stream (kept when a room is deleted), every other key is the room's own.
 */
const CORE_KEYS = ['room', 'msgs', 'grants', 'presence', 'changes', 'outbox'] as const

/** Trim hooks run when the first retained seq passes a multiple of this (as on SQLite). */
export const TRIM_HOOK_EVERY = 64

interface Script { lua: string, extraKeys: number }

const luaString = (text: string) => JSON.stringify(text)

/**
 * Room scripts: Lua over every key of one room (the core's and each feature's, so any hook can
 * reach its own data), with a library the core and the features share. Features add keys, hooks
 * and scripts while the engine starts; `define` then puts every script together with the
 * library and the hooks, so a hook registered by any feature runs inside every step it concerns.
 * All keys of a room carry its partition's hash tag: on a cluster, one slot per call.
 */
export class RoomScripts {
  private readonly names: string[] = [...CORE_KEYS]
  private readonly scripts = new Map<string, Script>()
  private readonly appendHooks: (RedisAppendHook & { name: string })[] = []
  private readonly changeHooks: string[] = []
  private readonly trimHooks: string[] = []
  private redis: RedisClient | undefined

  /** A feature's key of every room (see RedisStorage.roomKey). */
  roomKey (name: string): (room: string) => string {
    if (!/^[a-z][a-z-]*$/.test(name) || this.names.includes(name)) throw new Error(`room key ${name} is taken or not a name`)
    this.names.push(name)
    return (room) => roomKey(name, room)
  }

  /** The kinds of key every room has, the core's and the features' (not the partition's outbox). */
  roomKeyNames (): string[] {
    return this.names.filter((name) => name !== 'outbox')
  }

  /** The keys to delete with a room: all of its own, not its partition's outbox. */
  deletable (room: string): string[] {
    return this.roomKeyNames().map((name) => this.keyOf(name, room))
  }

  script<R> (name: string, lua: string, options: { extraKeys?: number } = {}): RoomScript<R> {
    if (this.scripts.has(name)) throw new Error(`room script ${name} is defined twice`)
    if (this.redis !== undefined) throw new Error(`room script ${name} defined after the engine started`)
    this.scripts.set(name, { lua, extraKeys: options.extraKeys ?? 0 })
    const command = name
    return (room, args, extraKeys = []) => {
      const redis = this.redis as unknown as Record<string, (...parts: (string | number)[]) => Promise<R>> | undefined
      if (redis === undefined) return Promise.reject(new Error(`room script ${name} called before the engine started`))
      return redis[command]!(...this.keysOf(room), ...extraKeys, room, ...args)
    }
  }

  onAppend (name: string, hook: RedisAppendHook): void {
    this.appendHooks.push({ ...hook, name })
  }

  onChange (lua: string): void {
    this.changeHooks.push(lua)
  }

  onTrim (lua: string): void {
    this.trimHooks.push(lua)
  }

  /** Which append hooks need the message decoded for these fields: sent as the append's flags. */
  flagsFor (fields: Record<string, unknown> | undefined): string {
    if (fields === undefined) return ''
    const present: string[] = []
    for (const hook of this.appendHooks) {
      if (hook.fields?.some((field) => field in fields) === true) present.push(hook.name)
    }
    return present.join(',')
  }

  /** Defines every script on the client, each with the library and the hooks; no script may be added after. */
  define (redis: RedisClient, publish: 'publish' | 'spublish', defaultHistoryLimit: number): void {
    const prelude = this.library(publish, defaultHistoryLimit)
    for (const [name, script] of this.scripts) {
      redis.defineCommand(name, { numberOfKeys: this.names.length + script.extraKeys, lua: `${prelude}\n${script.lua}` })
    }
    this.redis = redis
  }

  private keyOf (name: string, room: string): string {
    return name === 'outbox' ? partitionKeys(partitionOf(room)).outbox : roomKey(name, room)
  }

  private keysOf (room: string): string[] {
    return this.names.map((name) => this.keyOf(name, room))
  }

  private library (publish: string, defaultHistoryLimit: number): string {
    const keys = this.names.map((name, i) => `[${luaString(name)}] = KEYS[${i + 1}]`).join(', ')
    const hooks = this.appendHooks.map((hook) => `{ name = ${luaString(hook.name)}, ` +
      `any = ${hook.fields === undefined ? 'true' : 'false'}, ` +
      `check = ${hook.check ?? 'nil'}, stored = ${hook.stored ?? 'nil'} }`)
    return `${RECORD_LUA}
local ROOM = ARGV[1]
local K = { ${keys} }
-- The first key after the room's own (a script's extra keys).
local X = ${this.names.length + 1}
local PUBLISH = ${luaString(publish)}
local DEFAULT_LIMIT = ${defaultHistoryLimit}
local CHANNEL = string.sub(K.room, 1, #K.room - #ROOM - 5) .. 'events:' .. ROOM
local function decode (json) return cjson.decode(json) end
local function encode (value) return cjson.encode(value) end
local function now_ms ()
  ${NOW_LUA.replaceAll('\n', '\n  ')}
  return now
end
local function latest_seq () return tonumber(redis.call('HGET', K.room, 'lastSeq')) end
local function history_limit () return tonumber(redis.call('HGET', K.room, 'historyLimit')) or DEFAULT_LIMIT end
local function message_at (seq)
  local found = redis.call('ZRANGEBYSCORE', K.msgs, seq, seq)
  return found[1]
end
local function record_event (id, etype, time, data)
  if id ~= '' then record(K.outbox, id, etype, time, ROOM, data) end
end
local function publish_event (json) redis.call(PUBLISH, CHANNEL, json) end
local function publish_updated (member) publish_event('{"kind":"updated","message":' .. member .. '}') end
local function publish_feature (name, data)
  publish_event('{"kind":"feature","name":' .. cjson.encode(name) .. ',"room":' .. cjson.encode(ROOM) .. ',"data":' .. data .. '}')
end
-- Declared before the hooks, which may save changes of other messages (a thread's root).
local save_changed
local CHANGE_HOOKS = { ${this.changeHooks.join(', ')} }
local TRIM_HOOKS = { ${this.trimHooks.join(', ')} }
local APPEND_HOOKS = { ${hooks.join(', ')} }
local function trimmed (keep_from)
  for _, hook in ipairs(TRIM_HOOKS) do hook(keep_from) end
end
-- Writes after over the message (same seq), records the change for recovery: member = seq, score
-- = the room's latest seq now, which is what a join with since asks for. Changes of messages no
-- longer retained are forgotten. Then the features' change hooks.
save_changed = function (before, after)
  local seq = tonumber(after.seq)
  local member = cjson.encode(after)
  redis.call('ZREMRANGEBYSCORE', K.msgs, seq, seq)
  redis.call('ZADD', K.msgs, seq, member)
  local latest = latest_seq()
  redis.call('ZADD', K.changes, latest, seq)
  redis.call('ZREMRANGEBYSCORE', K.changes, '-inf', '(' .. (latest - history_limit() + 1))
  for _, hook in ipairs(CHANGE_HOOKS) do hook(before, after) end
  return member
end`
  }
}
