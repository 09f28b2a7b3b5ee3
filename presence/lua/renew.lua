-- Renew this node's lease. Returns 1 if the lease was gone or had run out:
-- the rest of the cluster may then have forgotten this node's sockets and
-- announced their users offline, and the caller registers them again
-- (restore.lua). Once renewed, no reaper takes the node for dead.
-- KEYS[1] nodes zset
-- ARGV[1] nodeID, ARGV[2] lease in ms
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[2])), ARGV[1])
if lease and tonumber(lease) > now then
  return 0
end
return 1
