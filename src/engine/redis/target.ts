import { type Config, sentinelsOf } from '../../config.ts'

/** Where the Redis engine connects, from REDIS_URL (with CHAT_REDIS_CLUSTER) or REDIS_SENTINELS. */
export function redisTargetOf (config: Config) {
  return {
    url: config.REDIS_URL,
    cluster: config.CHAT_REDIS_CLUSTER,
    sentinel: config.REDIS_SENTINELS === undefined
      ? undefined
      : { sentinels: sentinelsOf(config.REDIS_SENTINELS), name: config.REDIS_SENTINEL_NAME! }
  }
}
