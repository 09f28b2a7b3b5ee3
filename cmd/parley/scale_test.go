package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testrig/chattest"
	"github.com/parley-chat/parley/message"
)

// TestClusterScale: 1,000 users on three nodes (one in ten with a second tab
// on another node, one in ten connected by long polling then upgraded), each
// sending three messages to random others. Every message must reach each of
// the recipient's sockets and each of the sender's other sockets exactly
// once, never the sending socket, and every history in Redis must be right.
// It logs the time taken and each node's peak memory (the README quotes
// them).
func TestClusterScale(t *testing.T) {
	const (
		users     = 1000
		perUser   = 3
		tabsEvery = 10
	)
	c := startCluster(t, 3)
	start := time.Now()
	all := connectCrowd(t, c, users, tabsEvery)
	connected := time.Since(start)

	rng := rand.New(rand.NewPCG(1, 2))
	plan := make([][]int, users) // plan[i]: recipients of user i's messages
	for i := range plan {
		for range perUser {
			plan[i] = append(plan[i], rng.IntN(users))
		}
	}
	var wg sync.WaitGroup
	for i, p := range plan {
		wg.Go(func() {
			for k, to := range p {
				sender := all[i].sockets[0]
				res := sender.EmitAck("private message", map[string]any{"content": content(i, k), "to": all[to].userID})
				if ack, _ := res[0].(map[string]any); ack["ok"] != true {
					t.Errorf("user %d message %d: ack %v", i, k, res)
				}
			}
		})
	}
	wg.Wait()
	sent := time.Since(start)

	want := expectedDeliveries(all, plan)
	waitDeliveries(t, all, want)
	delivered := time.Since(start)
	checkExactlyOnce(t, all, want)
	checkHistories(t, c, all, plan)
	t.Logf("%d users, %d sockets on 3 nodes: connected in %v, %d messages sent (acked) by %v, all %d deliveries by %v",
		users, countSockets(all), connected.Round(time.Millisecond), users*perUser, sent.Round(time.Millisecond),
		countWanted(want), delivered.Round(time.Millisecond))
	for i, p := range c.nodes {
		t.Logf("node %d: peak RSS %s", i+1, peakRSS(p))
	}
}

// crowdUser is one user of the scale test and its sockets; sockets[0] sends.
type crowdUser struct {
	userID  string
	sockets []*chattest.Client
}

func content(user, k int) string { return fmt.Sprintf("m%d-%d", user, k) }

// connectCrowd logs in n users, a few at a time.
func connectCrowd(t *testing.T, c *cluster, n, tabsEvery int) []*crowdUser {
	t.Helper()
	onlyMessages := chattest.Options{Record: func(name string) bool {
		return name == "private message" || name == "session" || name == "users" || name == "disconnect"
	}}
	all := make([]*crowdUser, n)
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			tr := chattest.WebSocket
			if i%10 == 5 {
				tr = chattest.Upgrade
			}
			first := chattest.DialWith(t, c.nodes[i%3].url, map[string]any{"username": "user" + strconv.Itoa(i)}, tr, onlyMessages)
			sess := first.Wait("session", nil).Args[0].(map[string]any)
			first.Wait("users", nil)
			u := &crowdUser{userID: sess["userID"].(string), sockets: []*chattest.Client{first}}
			if i%tabsEvery == 0 {
				tab := chattest.DialWith(t, c.nodes[(i+1)%3].url, map[string]any{"sessionID": sess["sessionID"]}, chattest.WebSocket, onlyMessages)
				tab.Wait("users", nil)
				u.sockets = append(u.sockets, tab)
			}
			all[i] = u
		})
	}
	wg.Wait()
	return all
}

// delivery names a socket: user index and socket index.
type delivery struct{ user, socket int }

// expectedDeliveries maps each socket to the contents it must receive.
func expectedDeliveries(all []*crowdUser, plan [][]int) map[delivery][]string {
	want := map[delivery][]string{}
	for i, p := range plan {
		for k, to := range p {
			m := content(i, k)
			for s := range all[to].sockets {
				if to == i && s == 0 {
					continue // never the sending socket
				}
				want[delivery{to, s}] = append(want[delivery{to, s}], m)
			}
			if to != i {
				for s := 1; s < len(all[i].sockets); s++ {
					want[delivery{i, s}] = append(want[delivery{i, s}], m)
				}
			}
		}
	}
	return want
}

func received(c *chattest.Client) []string {
	var out []string
	for _, e := range c.Events("private message") {
		if m, ok := e.Args[0].(map[string]any); ok {
			out = append(out, fmt.Sprint(m["content"]))
		}
	}
	return out
}

func waitDeliveries(t *testing.T, all []*crowdUser, want map[delivery][]string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		missing := 0
		for i, u := range all {
			for s, sock := range u.sockets {
				if n := len(want[delivery{i, s}]) - len(received(sock)); n > 0 {
					missing += n
				}
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries still missing after 2 minutes", missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func checkExactlyOnce(t *testing.T, all []*crowdUser, want map[delivery][]string) {
	t.Helper()
	time.Sleep(500 * time.Millisecond) // a duplicate would have arrived by now
	for i, u := range all {
		for s, sock := range u.sockets {
			got, exp := received(sock), slices.Clone(want[delivery{i, s}])
			slices.Sort(got)
			slices.Sort(exp)
			if !slices.Equal(got, exp) {
				t.Fatalf("user %d socket %d received %v, want exactly %v", i, s, got, exp)
			}
		}
	}
}

// checkHistories reads every user's history from Redis: it must hold
// exactly the messages the user sent or received, once, each sender's in
// the order sent.
func checkHistories(t *testing.T, c *cluster, all []*crowdUser, plan [][]int) {
	t.Helper()
	store, err := message.NewRedis(c.redis.Client(t), message.RedisConfig{})
	if err != nil {
		t.Fatal(err)
	}
	want := make([][]string, len(all))
	for i, p := range plan {
		for k, to := range p {
			want[i] = append(want[i], content(i, k))
			if to != i {
				want[to] = append(want[to], content(i, k))
			}
		}
	}
	for i, u := range all {
		msgs, err := store.ForUser(context.Background(), u.userID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range msgs {
			got = append(got, m.Content)
		}
		if !sameMessages(got, want[i]) {
			t.Fatalf("history of user %d = %v, want %v (as a set, each sender in order)", i, got, want[i])
		}
	}
}

// sameMessages compares histories as multisets and checks that each
// sender's messages keep their order.
func sameMessages(got, want []string) bool {
	a, b := slices.Clone(got), slices.Clone(want)
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		return false
	}
	last := map[string]int{}
	for _, m := range got {
		sender, k, _ := strings.Cut(strings.TrimPrefix(m, "m"), "-")
		n, _ := strconv.Atoi(k)
		if prev, ok := last[sender]; ok && n < prev {
			return false
		}
		last[sender] = n
	}
	return true
}

func countSockets(all []*crowdUser) int {
	n := 0
	for _, u := range all {
		n += len(u.sockets)
	}
	return n
}

func countWanted(want map[delivery][]string) int {
	n := 0
	for _, w := range want {
		n += len(w)
	}
	return n
}

// peakRSS reads a process's peak resident set (VmHWM) from /proc.
func peakRSS(p *proc) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
