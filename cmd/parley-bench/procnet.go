package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// listenCounters are the kernel's counters of connections a listening
// socket could not take: the accept queue full (ListenOverflows, also in
// ListenDrops), the SYN queue full (SYN cookies sent instead, or the SYN
// dropped). They are the whole network namespace's, so a run reads the
// difference and nothing else should open connections meanwhile.
var listenCounters = []string{
	"TcpExt.ListenOverflows", "TcpExt.ListenDrops", "TcpExt.SyncookiesSent",
	"TcpExt.TCPReqQFullDoCookies", "TcpExt.TCPReqQFullDrop",
}

// readNetstat returns the counters of /proc/net/netstat by "Group.Name".
func readNetstat() (map[string]int64, error) {
	b, err := os.ReadFile("/proc/net/netstat")
	if err != nil {
		return nil, err
	}
	return parseNetstat(b)
}

// parseNetstat parses the pairs of lines of /proc/net/netstat (or
// /proc/net/snmp): a header line of names, then a line of values, both
// prefixed by the group ("TcpExt:").
func parseNetstat(b []byte) (map[string]int64, error) {
	out := map[string]int64{}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	for i := 0; i+1 < len(lines); i += 2 {
		names, values := bytes.Fields(lines[i]), bytes.Fields(lines[i+1])
		if len(names) != len(values) || len(names) == 0 || !bytes.Equal(names[0], values[0]) {
			return nil, fmt.Errorf("netstat: lines %d and %d do not pair", i+1, i+2)
		}
		group := string(bytes.TrimSuffix(names[0], []byte(":")))
		for j := 1; j < len(names); j++ {
			v, err := strconv.ParseInt(string(values[j]), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("netstat: %s %s: %w", group, names[j], err)
			}
			out[group+"."+string(names[j])] = v
		}
	}
	return out, nil
}
