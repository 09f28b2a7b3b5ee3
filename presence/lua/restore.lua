-- Register this node's sockets again after its lease had been lost.
-- KEYS[1] this node's set, KEYS[2] online set
-- ARGV[1] nodeID, ARGV[2] key prefix of users' hashes,
-- ARGV[3..] this node's sockets as "<userID>/<socketID>"
for i = 3, #ARGV do
  local user, socket = string.match(ARGV[i], '^(.*)/([^/]*)$')
  if user then
    redis.call('SADD', KEYS[1], ARGV[i])
    redis.call('HSET', ARGV[2] .. user, ARGV[1] .. '/' .. socket, '1')
    redis.call('SADD', KEYS[2], user)
  end
end
return 1
