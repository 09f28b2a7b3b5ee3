package fanout_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-chat/parley/fanout"
)

// deliveries reads parley_fanout_deliveries_total{path=path}.
func deliveries(t *testing.T, f *fanout.Fanout, path string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(f)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() != "parley_fanout_deliveries_total" {
			continue
		}
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "path" && l.GetValue() == path {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no parley_fanout_deliveries_total{path=%q}", path)
	return 0
}
