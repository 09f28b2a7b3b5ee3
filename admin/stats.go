package admin

import (
	"maps"
	"os"
	"slices"
	"strings"
	"time"
)

// serverStats is the payload of "server_stats", a node's report, with
// instrument's field names.
type serverStats struct {
	ServerID            string            `json:"serverId"`
	Hostname            string            `json:"hostname"`
	PID                 int               `json:"pid"`
	Uptime              float64           `json:"uptime"` // seconds, as process.uptime()
	ClientsCount        int               `json:"clientsCount"`
	PollingClientsCount int               `json:"pollingClientsCount"`
	AggregatedEvents    []aggregatedEvent `json:"aggregatedEvents"`
	Namespaces          []namespaceStats  `json:"namespaces"`
}

// aggregatedEvent counts events of a type in the second of Timestamp (in
// milliseconds since the epoch): rawConnection, rawDisconnection (SubType:
// the close reason), packetsIn, packetsOut, bytesIn, bytesOut.
type aggregatedEvent struct {
	Timestamp int64  `json:"timestamp"`
	Type      string `json:"type"`
	SubType   string `json:"subType,omitempty"`
	Count     uint64 `json:"count"`
}

// namespaceStats is a namespace and its number of sockets on this node.
type namespaceStats struct {
	Name         string `json:"name"`
	SocketsCount int    `json:"socketsCount"`
}

// started stands for the process's start, for the uptime.
var started = time.Now()

// statsLoop sends the stats every interval until Close.
func (a *Admin) statsLoop() {
	defer a.wg.Done()
	t := time.NewTicker(a.cfg.statsInterval)
	defer t.Stop()
	for {
		select {
		case <-a.ctx.Done():
			return
		case now := <-t.C:
			a.emitStats(now)
		}
	}
}

// emitStats sends this node's stats to the dashboards of every node.
func (a *Admin) emitStats(now time.Time) {
	stats := serverStats{
		ServerID:            a.cfg.ServerID,
		Hostname:            hostname(),
		PID:                 os.Getpid(),
		Uptime:              time.Since(started).Seconds(),
		ClientsCount:        a.io.Engine().ClientsCount(),
		PollingClientsCount: a.io.Engine().PollingCount(),
		AggregatedEvents:    a.aggregate(now),
		Namespaces:          []namespaceStats{},
	}
	for _, n := range a.io.Namespaces() {
		stats.Namespaces = append(stats.Namespaces, namespaceStats{Name: n.Name(), SocketsCount: n.SocketCount()})
	}
	slices.SortFunc(stats.Namespaces, func(x, y namespaceStats) int { return strings.Compare(x.Name, y.Name) })
	a.emit("server_stats", stats)
}

// aggregate returns what happened since the previous stats. instrument
// stamps each event with its own second; here they all carry the second
// of the report, which the dashboard's 10-second buckets cannot tell
// apart.
func (a *Admin) aggregate(now time.Time) []aggregatedEvent {
	cur := a.traffic.Counts()
	prev := a.last
	a.last = cur
	ts := now.Truncate(time.Second).UnixMilli()
	out := []aggregatedEvent{}
	add := func(typ, sub string, n, before uint64) {
		if n > before {
			out = append(out, aggregatedEvent{Timestamp: ts, Type: typ, SubType: sub, Count: n - before})
		}
	}
	add("rawConnection", "", cur.Opened, prev.Opened)
	for _, reason := range slices.Sorted(maps.Keys(cur.Closed)) {
		add("rawDisconnection", reason, cur.Closed[reason], prev.Closed[reason])
	}
	add("packetsIn", "", cur.PacketsIn, prev.PacketsIn)
	add("bytesIn", "", cur.BytesIn, prev.BytesIn)
	add("packetsOut", "", cur.PacketsOut, prev.PacketsOut)
	add("bytesOut", "", cur.BytesOut, prev.BytesOut)
	return out
}
