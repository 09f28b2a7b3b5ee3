# Parley. The lead engineer owns the other targets; this file only adds bench.

BENCH_FLAGS ?=

# bench measures Parley against Node.js socket.io 4.8.4 in the same run
# (idle memory, fan-out, echo; medians of 3 runs and ratios). It takes about
# 20 minutes and is not part of `make test`. Needs `npm ci` (node_modules).
.PHONY: bench
bench:
	go build -o bin/parley-bench ./cmd/parley-bench
	./bin/parley-bench run -json bin/bench.json $(BENCH_FLAGS)
