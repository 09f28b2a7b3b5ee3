-- Claim a node whose lease ran out (it died without saying goodbye), forget
-- a batch of its sockets, and return the users left without a socket.
-- Each call is atomic and removes what it reports, so across the cluster
-- each departure is reported once.
-- KEYS[1] nodes zset (nodeID -> lease expiry, ms), KEYS[2] online set
-- ARGV[1] key prefix of users' hashes, ARGV[2] key prefix of nodes' sets,
-- ARGV[3] how many sockets to forget at most in one call.
-- Returns {dead nodeID or '', more of it left ('0'/'1'), offline userID...}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now), 'LIMIT', 0, 1)
if #dead == 0 then
  return {'', '0'}
end
local node = dead[1]
local set = ARGV[2] .. node
local result = {node, '0'}
local users = {}
for _, entry in ipairs(redis.call('SRANDMEMBER', set, tonumber(ARGV[3]))) do
  local user, socket = string.match(entry, '^(.*)/([^/]*)$')
  if user then
    redis.call('HDEL', ARGV[1] .. user, node .. '/' .. socket)
    users[user] = true
  end
  redis.call('SREM', set, entry)
end
if redis.call('SCARD', set) == 0 then
  redis.call('ZREM', KEYS[1], node)
else
  result[2] = '1'
end
for user in pairs(users) do
  if redis.call('HLEN', ARGV[1] .. user) == 0 then
    redis.call('SREM', KEYS[2], user)
    table.insert(result, user)
  end
end
return result
