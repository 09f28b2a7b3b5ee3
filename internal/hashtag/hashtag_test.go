package hashtag

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestHas(t *testing.T) {
	for prefix, want := range map[string]bool{
		"":            false,
		"parley:":     false,
		"{parley}:":   true,
		"x{p}:":       true,
		"{}:":         false,
		"{parley:":    false,
		"}{parley}":   true,
		"{a}{b}":      true,
		"no}{":        false,
		"{:}":         true,
		"prefix{x}y:": true,
	} {
		if got := Has(prefix); got != want {
			t.Errorf("Has(%q) = %v, want %v", prefix, got, want)
		}
	}
}

func TestRequired(t *testing.T) {
	single := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	defer single.Close()
	defer cluster.Close()
	if Required(single, "") {
		t.Error("a standalone client never needs a hash tag")
	}
	if !Required(cluster, "parley:") || Required(cluster, "{parley}:") {
		t.Error("a cluster client needs a hash tag, and {parley}: is one")
	}
}
