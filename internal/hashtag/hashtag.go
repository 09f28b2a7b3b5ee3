// Package hashtag checks that the keys of a Redis-backed store can live on a
// Redis Cluster. Stores that touch several keys in one script or
// transaction need all of them in one hash slot, which a Redis Cluster only
// guarantees for keys that share a hash tag ("{...}").
package hashtag

import (
	"strings"

	"github.com/redis/go-redis/v9"
)

// Has reports whether prefix contains a non-empty hash tag, so that every
// key starting with it lands in the same slot.
func Has(prefix string) bool {
	open := strings.Index(prefix, "{")
	if open < 0 {
		return false
	}
	end := strings.Index(prefix[open+1:], "}")
	return end > 0
}

// Required reports whether rdb needs keys with a hash tag and prefix lacks
// one: true means the store must refuse the client.
func Required(rdb redis.UniversalClient, prefix string) bool {
	_, cluster := rdb.(*redis.ClusterClient)
	return cluster && !Has(prefix)
}
