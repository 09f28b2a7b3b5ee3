-- Record a live socket of a user on a node.
-- KEYS[1] the online set (userIDs with at least one socket), KEYS[2] the
-- user's hash (<nodeID>/<socketID> -> 1), KEYS[3] the node's set
-- (<userID>/<socketID>)
-- ARGV[1] nodeID, ARGV[2] socketID, ARGV[3] userID
-- Returns the user's number of sockets after the join.
redis.call('HSET', KEYS[2], ARGV[1] .. '/' .. ARGV[2], '1')
redis.call('SADD', KEYS[3], ARGV[3] .. '/' .. ARGV[2])
redis.call('SADD', KEYS[1], ARGV[3])
return redis.call('HLEN', KEYS[2])
