import type { RedisStorage } from '../../engine/redis/storage.ts'
import type { MentionsStore } from './store.ts'

/**
 * The room's index of mentions, `chat:{pN}:mentions:<room>`: a sorted set scored by seq whose
 * members are `<user> NUL <seq>`. Written by the append and change hooks in the script of the
 * change; trimmed with history.
 */
const ADD = `local function add_mentions (message)
  if type(message.mentions) ~= 'table' then return end
  for _, user in ipairs(message.mentions) do
    redis.call('ZADD', K.mentions, message.seq, user .. '\\0' .. message.seq)
  end
end`

const STORED = 'function (m) add_mentions(m.message()) end'

const CHANGED = `function (before, after)
  if cjson.encode(before.mentions or false) == cjson.encode(after.mentions or false) then return end
  if type(before.mentions) == 'table' then
    for _, user in ipairs(before.mentions) do redis.call('ZREM', K.mentions, user .. '\\0' .. before.seq) end
  end
  add_mentions(after)
end`

const TRIMMED = 'function (keep_from) redis.call(\'ZREMRANGEBYSCORE\', K.mentions, \'-inf\', \'(\' .. keep_from) end'

/**
 * ARGV after the room: user, seq. How many retained messages after seq mention the user: the
 * index's entries after seq, of the user, whose message is still in history.
 */
const COUNT_LUA = `
local prefix = ARGV[2] .. '\\0'
local oldest = redis.call('ZRANGE', K.msgs, 0, 0, 'WITHSCORES')[2]
if not oldest then return 0 end
local from = math.max(tonumber(ARGV[3]) + 1, tonumber(oldest))
local count = 0
for _, entry in ipairs(redis.call('ZRANGEBYSCORE', K.mentions, from, '+inf')) do
  if string.sub(entry, 1, #prefix) == prefix then count = count + 1 end
end
return count`

/** Mentions on Redis: the index kept by hooks in the core's scripts, counted by a room script. */
export function redisMentions (storage: RedisStorage): MentionsStore {
  storage.roomKey('mentions')
  storage.onAppend('mentions', { fields: ['mentions'], stored: `(function () ${ADD}\nreturn ${STORED} end)()` })
  storage.onChange(`(function () ${ADD}\nreturn ${CHANGED} end)()`)
  storage.onTrim(TRIMMED)
  const count = storage.roomScript<number>('chatMentionCount', COUNT_LUA)
  return {
    async counts (user, queries) {
      return Promise.all(queries.map(({ room, after }) => count(room, [user, after]).then(Number)))
    }
  }
}
