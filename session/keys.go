package session

import (
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/internal/hashtag"
)

// Redis keys. With an empty prefix the per-session hash has the reference
// server's layout, so both can read each other's sessions:
//
//	<prefix>session:<sessionID>   hash {userID, username, connected}, expires after TTL
//	<prefix>sessions:expiry       sorted set of session IDs scored by expiry (Unix ms)
//	<prefix>sessions:data         hash sessionID -> "<expiry>:<connected>:<len(ID)>:<len(userID)>:<ID><userID><username>"
//	<prefix>sessions:users        hash userID -> sessionID
//
// The expiry and data keys let All read every live session in one round
// trip without scanning the keyspace; the users key lets FindUser resolve a
// public user ID without reading every session.
type keys struct {
	prefix string
}

func (k keys) session(id string) string { return k.prefix + "session:" + id }
func (k keys) expiry() string           { return k.prefix + "sessions:expiry" }
func (k keys) data() string             { return k.prefix + "sessions:data" }
func (k keys) users() string            { return k.prefix + "sessions:users" }

// errNeedHashTag explains why a cluster client was refused.
var errNeedHashTag = errors.New("session: a Redis Cluster needs a Prefix with a hash tag such as \"{parley}:\", " +
	"so that a session and the index it updates atomically share a hash slot")

// checkCluster refuses a cluster client unless every key lands in one slot.
func checkCluster(rdb redis.UniversalClient, prefix string) error {
	if hashtag.Required(rdb, prefix) {
		return errNeedHashTag
	}
	return nil
}
