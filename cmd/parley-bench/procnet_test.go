package main

import "testing"

func TestParseNetstat(t *testing.T) {
	in := "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 3 10 12\nIpExt: InNoRoutes\nIpExt: 0\n"
	m, err := parseNetstat([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if m["TcpExt.ListenOverflows"] != 10 || m["TcpExt.SyncookiesSent"] != 3 || m["IpExt.InNoRoutes"] != 0 || len(m) != 4 {
		t.Errorf("got %v", m)
	}
	for _, bad := range []string{"TcpExt: A B\nTcpExt: 1\n", "TcpExt: A\nIpExt: 1\n", "TcpExt: A\nTcpExt: x\n"} {
		if _, err := parseNetstat([]byte(bad)); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}
