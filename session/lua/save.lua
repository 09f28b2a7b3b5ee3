-- Save one session and its index entry atomically, using Redis's clock for
-- the expiry so that every application node agrees on it.
-- KEYS[1] session hash, KEYS[2] expiry sorted set, KEYS[3] data hash
-- ARGV[1] session ID, ARGV[2] userID, ARGV[3] username,
-- ARGV[4] connected ("true"/"false"), ARGV[5] TTL in ms,
-- ARGV[6] the data entry without its expiry (see keys.go)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = string.format('%.0f', now + tonumber(ARGV[5]))

redis.call('HSET', KEYS[1], 'userID', ARGV[2], 'username', ARGV[3], 'connected', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], expiry, ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], expiry .. ':' .. ARGV[6])

-- Prune a bounded batch of expired entries, so the index stays about the
-- size of the live sessions without any one call doing unbounded work.
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', string.format('%.0f', now), 'LIMIT', 0, 100)
if #stale > 0 then
  redis.call('ZREM', KEYS[2], unpack(stale))
  redis.call('HDEL', KEYS[3], unpack(stale))
end
return 1
