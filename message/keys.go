package message

import (
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/internal/hashtag"
)

// Redis keys. With an empty prefix they have the reference server's layout:
//
//	<prefix>messages:<userID>   list of JSON messages, oldest first, expires TTL after the last Save
type keys struct {
	prefix string
}

func (k keys) messages(userID string) string { return k.prefix + "messages:" + userID }

// errNeedHashTag explains why a cluster client was refused.
var errNeedHashTag = errors.New("message: a Redis Cluster needs a Prefix with a hash tag such as \"{parley}:\", " +
	"so that the sender's and recipient's histories, written in one transaction, share a hash slot")

// checkCluster refuses a cluster client unless every key lands in one slot.
func checkCluster(rdb redis.UniversalClient, prefix string) error {
	if hashtag.Required(rdb, prefix) {
		return errNeedHashTag
	}
	return nil
}
