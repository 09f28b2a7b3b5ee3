package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestMetricsEndpoint(t *testing.T) {
	reg := prometheus.NewRegistry()
	srv := New(Config{Registry: reg})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	client := &http.Client{Timeout: 5 * time.Second}
	res, err := client.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	for _, name := range []string{
		"parley_engine_clients 0",
		"parley_ws_connections 0",
		"parley_ws_write_queue_bytes 0",
		`parley_ws_slow_consumer_closes_total{reason="queue_full"} 0`,
		"parley_ws_volatile_drops_total 0",
		"parley_fanout_broadcasts_total 0",
	} {
		if !strings.Contains(string(body), name) {
			t.Errorf("/metrics lacks %q", name)
		}
	}
	// The injected registry is the one served: a collector registered on
	// it by the caller (the adapter's, later) shows up too.
	extra := prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_test_extra_total", Help: "test"})
	reg.MustRegister(extra)
	res, err = client.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	_ = res.Body.Close()
	if !strings.Contains(string(body), "parley_test_extra_total 0") {
		t.Error("a collector registered on the injected registry is not served")
	}
}
