import type { Result } from 'ioredis'
import { NOW_LUA } from './lua.ts'

/** Lua comparing stream entry ids ("ms-seq"): true when a < b. */
const ID_LUA = `
local function parse(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end
local function before(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end`

/**
 * Scripts of the delivery side of the outbox: leases, trimming, parking and retrying. Each
 * touches the keys of one partition (one slot on a cluster).
 */
export const webhookScripts = {
  /**
   * KEYS: an outbox stream. ARGV: group. Creates the group at the stream's end (a new URL gets
   * the events from now on); an existing group keeps its place. A script, so that a cluster
   * client routes it by its key.
   */
  chatGroupCreate: {
    numberOfKeys: 1,
    lua: `
local ok = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '$', 'MKSTREAM')
if type(ok) == 'table' and ok.err and not string.find(ok.err, 'BUSYGROUP', 1, true) then return redis.error_reply(ok.err) end
return 1`
  },
  /**
   * KEYS: an outbox stream. ARGV: the groups of the configured URLs. Destroys the other
   * \`webhook:\` groups (URLs no longer configured), which would hold trimming back forever.
   * Returns how many were destroyed.
   */
  chatGroupsForget: {
    numberOfKeys: 1,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local keep = {}
for _, name in ipairs(ARGV) do keep[name] = true end
local destroyed = 0
for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local name
  for i = 1, #group, 2 do if group[i] == 'name' then name = group[i + 1] end end
  if string.sub(name, 1, 8) == 'webhook:' and not keep[name] then
    redis.call('XGROUP', 'DESTROY', KEYS[1], name)
    destroyed = destroyed + 1
  end
end
return destroyed`
  },
  /**
   * KEYS: an outbox stream. ARGV: group, consumer, count, position ('>' for new entries, else
   * the consumer's pending entries after that id). XREADGROUP, as a script so that a cluster
   * client routes it by its key.
   */
  chatOutboxRead: {
    numberOfKeys: 1,
    lua: `
local reply = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3], 'STREAMS', KEYS[1], ARGV[4])
if not reply then return {} end
return reply[1][2]`
  },
  /** KEYS: a lease. ARGV: owner, ttl (ms). Prolongs the lease if the owner still holds it: 1, else 0. */
  chatLeaseRenew: {
    numberOfKeys: 1,
    lua: `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`
  },
  /** KEYS: a lease. ARGV: owner. Lets go of the lease if the owner holds it. */
  chatLeaseRelease: {
    numberOfKeys: 1,
    lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0`
  },
  /**
   * KEYS: nodes index. ARGV: stale after (ms). Nodes with a recent heartbeat (at least 1), for
   * each node's fair share of the leases.
   */
  chatLiveNodes: {
    numberOfKeys: 1,
    lua: `
${NOW_LUA}
return math.max(1, redis.call('ZCOUNT', KEYS[1], now - tonumber(ARGV[1]), '+inf'))`
  },
  /**
   * KEYS: an outbox stream. Deletes the entries every consumer group has finished: those below
   * the oldest entry still pending in some group, and below every group's last read entry.
   * Groups of webhook URLs and of direct consumers alike hold entries back; without any group
   * nothing is trimmed. Returns the stream's length after.
   */
  chatOutboxTrim: {
    numberOfKeys: 1,
    lua: `${ID_LUA}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local floor = nil
for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local info = {}
  for i = 1, #group, 2 do info[group[i]] = group[i + 1] end
  local low
  if tonumber(info['pending']) > 0 then
    low = redis.call('XPENDING', KEYS[1], info['name'])[2]
  else
    local ms, seq = parse(info['last-delivered-id'])
    low = ms .. '-' .. (seq + 1)
  end
  if floor == nil or before(low, floor) then floor = low end
end
if floor ~= nil then redis.call('XTRIM', KEYS[1], 'MINID', floor) end
return redis.call('XLEN', KEYS[1])`
  },
  /**
   * KEYS: outbox, attempts hash, parked hash, parked order. ARGV: group, entry id, URL key, URL,
   * attempts, last error. Lists the entry's event as parked for the URL, and finishes the entry
   * for the group, together.
   */
  chatWebhookPark: {
    numberOfKeys: 4,
    lua: `
local found = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[3] .. ' ' .. ARGV[2])
if not found[1] then return 0 end
local fields = {}
for i = 1, #found[1][2], 2 do fields[found[1][2][i]] = found[1][2][i + 1] end
local event = cjson.decode(fields['e'])
local parked = redis.call('HGET', KEYS[3], event.id)
local record
if parked then
  record = cjson.decode(parked)
else
  record = { id = event.id, type = event.type, room = event.room, event = fields['e'], urls = {} }
  ${NOW_LUA}
  redis.call('ZADD', KEYS[4], now, event.id)
end
record.urls[ARGV[4]] = { key = ARGV[3], attempts = tonumber(ARGV[5]), lastError = ARGV[6] }
redis.call('HSET', KEYS[3], event.id, cjson.encode(record))
return 1`
  },
  /**
   * KEYS: parked hash, parked order, outbox. ARGV: event id. Appends the parked event to the
   * outbox again for the URLs it was parked for (field \`to\`), and forgets it. 1 when it was parked here.
   */
  chatWebhookRetry: {
    numberOfKeys: 3,
    lua: `
local parked = redis.call('HGET', KEYS[1], ARGV[1])
if not parked then return 0 end
local record = cjson.decode(parked)
local to = {}
for _, target in pairs(record.urls) do to[#to + 1] = target.key end
redis.call('XADD', KEYS[3], '*', 'r', record.room, 'e', record.event, 'to', table.concat(to, ','))
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1`
  }
} as const

declare module 'ioredis' {
  interface RedisCommander<Context> {
    chatOutboxRead(outbox: string, group: string, consumer: string, count: string, position: string): Result<[string, string[]][], Context>
    chatGroupCreate(outbox: string, group: string): Result<number, Context>
    chatGroupsForget(outbox: string, ...keep: string[]): Result<number, Context>
    chatLeaseRenew(lease: string, owner: string, ttlMs: string): Result<number, Context>
    chatLeaseRelease(lease: string, owner: string): Result<number, Context>
    chatLiveNodes(nodes: string, staleMs: string): Result<number, Context>
    chatOutboxTrim(outbox: string): Result<number, Context>
    chatWebhookPark(outbox: string, attemptsHash: string, failed: string, failedOrder: string, group: string, entry: string,
      urlKey: string, url: string, attempts: string, lastError: string): Result<number, Context>
    chatWebhookRetry(failed: string, failedOrder: string, outbox: string, id: string): Result<number, Context>
  }
}
