import type { RedisStorage } from '../../engine/redis/storage.ts'
import type { EditedMessage } from './schemas.ts'
import type { Changer, EditChange, EditsStore } from './store.ts'

/**
 * ARGV after the room: seq, user ('' for an operator), 'edit' or 'delete', the new text, the
 * time, the event's id ('' = not recorded), '1' to publish, the fields derived from the text (JSON,
 * null to remove one). Rewrites the message in place through save_changed (recovery and the
 * features' change hooks), records message.edited or message.deleted, publishes `updated` when
 * asked. Returns {outcome, message JSON}.
 */
const CHANGE_LUA = `
local seq = tonumber(ARGV[2])
local member = message_at(seq)
if not member then return { 'not_found' } end
local before = decode(member)
if ARGV[3] ~= '' and before.user ~= ARGV[3] then return { 'forbidden' } end
if before.deleted then
  if ARGV[4] == 'delete' then return { 'unchanged', member } end
  return { 'not_found' }
end
local after = decode(member)
if ARGV[4] == 'edit' then
  after.text = ARGV[5]
  after.version = (tonumber(after.version) or 1) + 1
  after.editedAt = ARGV[6]
else
  after.text = ''
  after.deleted = true
  after.deletedAt = ARGV[6]
end
for key, value in pairs(decode(ARGV[9])) do
  if value == cjson.null then after[key] = nil else after[key] = value end
end
local saved = save_changed(before, after)
record_event(ARGV[7], ARGV[4] == 'edit' and 'message.edited' or 'message.deleted', ARGV[6], saved)
if ARGV[8] == '1' then publish_updated(saved) end
return { 'changed', saved }`

/** Edits and deletes on Redis: one room script per change. */
export function redisEdits (storage: RedisStorage): EditsStore {
  const change = storage.roomScript<[string, string?]>('chatChangeMessage', CHANGE_LUA)

  async function run (room: string, seq: number, op: 'edit' | 'delete', text: string, fields: Record<string, unknown>,
    by: Changer, publish: boolean): Promise<EditChange> {
    // Removed fields travel as null: JSON has no undefined.
    const derived = JSON.stringify(fields, (_key, value: unknown) => value === undefined ? null : value)
    const [outcome, member] = await change(room, [seq, 'user' in by ? by.user : '', op, text, new Date().toISOString(),
      storage.eventId(op === 'edit' ? 'message.edited' : 'message.deleted'), publish ? '1' : '', derived])
    if ((outcome === 'changed' || outcome === 'unchanged') && member !== undefined) {
      return { outcome, message: JSON.parse(member) as EditedMessage }
    }
    return { outcome: outcome === 'forbidden' ? 'forbidden' : 'not_found' }
  }

  return {
    edit: (room, seq, text, fields, by, publish) => run(room, seq, 'edit', text, fields, by, publish),
    delete: (room, seq, fields, by, publish) => run(room, seq, 'delete', '', fields, by, publish)
  }
}
