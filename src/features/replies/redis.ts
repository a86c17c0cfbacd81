import type { RedisStorage } from '../../engine/redis/storage.ts'
import type { Message } from '../../schemas/common.ts'
import type { RepliesStore } from './store.ts'

/**
 * The room's replies under their roots, `chat:{pN}:replies:<room>`: a sorted set of members
 * `<root>:<seq>` (16 digits each, all scores 0) read by lexical range, so a thread is one range.
 */
const HELPERS = `local function pad (n) return string.format('%016d', n) end
-- Writes the root's thread as it stands now: its undeleted replies, and the newest of them.
local function recount (root)
  local member = message_at(root)
  if not member then return end
  local replies, last = 0, nil
  for _, entry in ipairs(redis.call('ZRANGEBYLEX', K.replies, '[' .. pad(root) .. ':', '(' .. pad(root) .. ';')) do
    local reply = message_at(tonumber(string.sub(entry, 18)))
    if reply then
      local decoded = decode(reply)
      if not decoded.deleted then
        replies = replies + 1
        last = decoded
      end
    end
  end
  local before, after = decode(member), decode(member)
  if replies == 0 then after.thread = nil else after.thread = { replies = replies, lastSeq = last.seq, lastTime = last.time } end
  save_changed(before, after)
end`

const CHECK = `function (draft)
  local root = draft.message().replyTo
  local member = message_at(root)
  if not member or decode(member).deleted then
    return { 'not_found', 'message ' .. root .. ' of room ' .. ROOM .. ' is not retained or was deleted' }
  end
end`

const STORED = `function (m)
  local root = m.message().replyTo
  redis.call('ZADD', K.replies, 0, pad(root) .. ':' .. pad(m.seq))
  local member = message_at(root)
  if member then
    local before, after = decode(member), decode(member)
    local thread = after.thread or { replies = 0 }
    after.thread = { replies = thread.replies + 1, lastSeq = m.seq, lastTime = m.time }
    save_changed(before, after)
  end
  return root
end`

const CHANGED = `function (before, after)
  if after.replyTo and after.deleted and not before.deleted then recount(after.replyTo) end
end`

const TRIMMED = 'function (keep_from) redis.call(\'ZREMRANGEBYLEX\', K.replies, \'-\', \'(\' .. pad(keep_from) .. \':\') end'

/** ARGV after the room: root, limit, before ('' for none). The thread's newest replies below before, ascending. */
const THREAD_LUA = `
local function pad (n) return string.format('%016d', n) end
local root = tonumber(ARGV[2])
local upper = ARGV[4] == '' and '(' .. pad(root) .. ';' or '(' .. pad(root) .. ':' .. pad(tonumber(ARGV[4]))
local entries = redis.call('ZREVRANGEBYLEX', K.replies, upper, '[' .. pad(root) .. ':', 'LIMIT', 0, tonumber(ARGV[3]))
local result = {}
for i = #entries, 1, -1 do
  local member = message_at(tonumber(string.sub(entries[i], 18)))
  if member then result[#result + 1] = member end
end
return result`

/** Wraps a hook in the helpers it uses. */
const withHelpers = (fn: string) => `(function ()\n${HELPERS}\nreturn ${fn}\nend)()`

/** Replies on Redis: the index and the root's thread written by hooks in the append's (or the delete's) script. */
export function redisReplies (storage: RedisStorage): RepliesStore {
  storage.roomKey('replies')
  storage.onAppend('replies', { fields: ['replyTo'], check: withHelpers(CHECK), stored: withHelpers(STORED) })
  storage.onChange(withHelpers(CHANGED))
  storage.onTrim(withHelpers(TRIMMED))
  const thread = storage.roomScript<string[]>('chatThread', THREAD_LUA)
  return {
    async thread (room, root, limit, before) {
      return (await thread(room, [root, limit, before ?? ''])).map((member) => JSON.parse(member) as Message)
    }
  }
}
