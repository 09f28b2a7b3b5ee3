-- Save one session and its index entries atomically, using Redis's clock for
-- the expiry so that every application node agrees on it.
-- KEYS[1] session hash, KEYS[2] expiry sorted set, KEYS[3] data hash,
-- KEYS[4] users hash (userID -> session ID)
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
redis.call('HSET', KEYS[4], ARGV[2], ARGV[1])

-- Prune a bounded batch of expired entries, so the indexes stay about the
-- size of the live sessions without any one call doing unbounded work.
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', string.format('%.0f', now), 'LIMIT', 0, 100)
if #stale > 0 then
  local entries = redis.call('HMGET', KEYS[3], unpack(stale))
  for i, id in ipairs(stale) do
    local entry = entries[i]
    if entry then
      local head, idLen, userLen = string.match(entry, '^(%d+:%d:(%d+):(%d+):)')
      if head then
        local from = #head + tonumber(idLen) + 1
        local user = string.sub(entry, from, from + tonumber(userLen) - 1)
        if redis.call('HGET', KEYS[4], user) == id then
          redis.call('HDEL', KEYS[4], user)
        end
      end
    end
  end
  redis.call('ZREM', KEYS[2], unpack(stale))
  redis.call('HDEL', KEYS[3], unpack(stale))
end
return 1
