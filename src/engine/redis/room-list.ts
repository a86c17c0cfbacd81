import type { RedisClient } from './connection.ts'
import { globalKeys } from './keys.ts'

/**
 * Every room id, in pages of `size` in id order (the rooms sorted set, read with ZRANGEBYLEX
 * after the last id seen): for what concerns all rooms, such as a user's data.
 */
export async function * roomPages (redis: RedisClient, size = 500): AsyncGenerator<string[]> {
  let after = ''
  for (;;) {
    const ids = await redis.zrangebylex(globalKeys.rooms, after === '' ? '-' : `(${after}`, '+', 'LIMIT', 0, size)
    if (ids.length === 0) return
    yield ids
    if (ids.length < size) return
    after = ids.at(-1)!
  }
}
