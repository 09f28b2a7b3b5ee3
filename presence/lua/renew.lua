-- Renew this node's lease. If the lease was gone or had run out, the rest of
-- the cluster may have forgotten this node's sockets and announced their
-- users offline: register the sockets again and tell the caller (returns 1).
-- KEYS[1] nodes zset, KEYS[2] this node's set, KEYS[3] online set
-- ARGV[1] nodeID, ARGV[2] lease in ms, ARGV[3] key prefix of users' hashes,
-- ARGV[4..] this node's sockets as "<userID>/<socketID>"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[2])), ARGV[1])
if lease and tonumber(lease) > now then
  return 0
end
for i = 4, #ARGV do
  local user, socket = string.match(ARGV[i], '^(.*)/([^/]*)$')
  if user then
    redis.call('SADD', KEYS[2], ARGV[i])
    redis.call('HSET', ARGV[3] .. user, ARGV[1] .. '/' .. socket, '1')
    redis.call('SADD', KEYS[3], user)
  end
end
return 1
