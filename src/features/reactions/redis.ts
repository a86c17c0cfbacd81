import type { RedisStorage } from '../../engine/redis/storage.ts'
import type { Change } from '../../hub/message-updates.ts'
import { type Reaction, type ReactedMessage, USERS_SHOWN } from './schemas.ts'
import type { ReactionsStore } from './store.ts'

/**
 * ARGV after the room: seq, user, emoji, '1' to add ('' to remove), the time, the event's id
 * ('' = not recorded), '1' to publish. The room's reactions are a hash seq → JSON list of
 * [emoji, user, time] in the order they were made; the message's `reactions` is made from it
 * and saved through save_changed (recovery, hooks), all in this step. Returns {outcome, message JSON}.
 */
const REACT_LUA = `
local seq = tonumber(ARGV[2])
local member = message_at(seq)
if not member then return { 'not_found' } end
local before = decode(member)
if before.deleted then return { 'not_found' } end
local stored = redis.call('HGET', K.reactions, ARGV[2])
local list = stored and decode(stored) or {}
local found
for i, reaction in ipairs(list) do
  if reaction[1] == ARGV[4] and reaction[2] == ARGV[3] then found = i break end
end
local active = ARGV[5] == '1'
if (active and found) or (not active and not found) then return { 'unchanged', member } end
if active then list[#list + 1] = { ARGV[4], ARGV[3], ARGV[6] } else table.remove(list, found) end
if #list == 0 then redis.call('HDEL', K.reactions, ARGV[2]) else redis.call('HSET', K.reactions, ARGV[2], encode(list)) end
local summary, by_emoji = {}, {}
for _, reaction in ipairs(list) do
  local entry = by_emoji[reaction[1]]
  if not entry then
    entry = { emoji = reaction[1], count = 0, users = {} }
    by_emoji[reaction[1]] = entry
    summary[#summary + 1] = entry
  end
  entry.count = entry.count + 1
  if #entry.users < ${USERS_SHOWN} then entry.users[#entry.users + 1] = reaction[2] end
end
local after = decode(member)
if #summary == 0 then after.reactions = nil else after.reactions = summary end
local saved = save_changed(before, after)
record_event(ARGV[7], active and 'reaction.added' or 'reaction.removed', ARGV[6],
  '{"seq":' .. seq .. ',"emoji":' .. cjson.encode(ARGV[4]) .. ',"user":' .. cjson.encode(ARGV[3]) .. '}')
if ARGV[8] == '1' then publish_updated(saved) end
return { 'changed', saved }`

/** ARGV after the room: seq. The message's reactions as stored ('' for none); nil when the message is not retained. */
const LIST_LUA = `
if not message_at(tonumber(ARGV[2])) then return false end
return redis.call('HGET', K.reactions, ARGV[2]) or ''`

/** Reactions of messages no longer retained go once in a while (a hash field per message that has any). */
const TRIMMED = `function (keep_from)
  for _, field in ipairs(redis.call('HKEYS', K.reactions)) do
    if tonumber(field) < keep_from then redis.call('HDEL', K.reactions, field) end
  end
end`

/** Reactions on Redis: `chat:{pN}:reactions:<room>`, changed by one room script per reaction. */
export function redisReactions (storage: RedisStorage): ReactionsStore {
  storage.roomKey('reactions')
  storage.onTrim(TRIMMED)
  const react = storage.roomScript<[string, string?]>('chatReact', REACT_LUA)
  const list = storage.roomScript<string | null>('chatReactions', LIST_LUA)
  return {
    async react (room, seq, user, emoji, active, publish): Promise<Change<ReactedMessage>> {
      const [outcome, member] = await react(room, [seq, user, emoji, active ? '1' : '', new Date().toISOString(),
        storage.eventId(active ? 'reaction.added' : 'reaction.removed'), publish ? '1' : ''])
      if ((outcome === 'changed' || outcome === 'unchanged') && member !== undefined) return { outcome, message: JSON.parse(member) as ReactedMessage }
      return { outcome: 'not_found' }
    },
    async list (room, seq) {
      const stored = await list(room, [seq])
      if (stored === null) return undefined
      if (stored === '') return []
      return (JSON.parse(stored) as [string, string, string][]).map(([emoji, user, time]): Reaction => ({ emoji, user, time }))
    }
  }
}
