/** Lua shared by the engine's scripts. */

/** Milliseconds of the Redis server's clock (`now`), so node clocks never need to agree. */
export const NOW_LUA = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`
