package message

import (
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"
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

// checkCluster refuses a cluster client unless every key lands in one slot:
// Save writes two users' lists in one MULTI/EXEC, which a cluster only allows
// within a slot.
func checkCluster(rdb redis.UniversalClient, prefix string) error {
	if _, ok := rdb.(*redis.ClusterClient); !ok {
		return nil
	}
	open := strings.Index(prefix, "{")
	if open < 0 || !strings.Contains(prefix[open+1:], "}") || strings.HasPrefix(prefix[open+1:], "}") {
		return errNeedHashTag
	}
	return nil
}
