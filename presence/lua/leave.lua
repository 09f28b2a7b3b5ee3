-- Forget a socket of a user on a node.
-- KEYS and ARGV as in join.lua.
-- Returns the user's number of sockets after the leave.
redis.call('HDEL', KEYS[2], ARGV[1] .. '/' .. ARGV[2])
redis.call('SREM', KEYS[3], ARGV[3] .. '/' .. ARGV[2])
local n = redis.call('HLEN', KEYS[2])
if n == 0 then
  redis.call('SREM', KEYS[1], ARGV[3])
end
return n
