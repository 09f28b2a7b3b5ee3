# Parley's developer commands. `make test` is what CI runs (.ci/run).

GO ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# The whole suite stays well under CI's limit; this only stops a hung test.
TEST_TIMEOUT ?= 15m

.PHONY: test deps lint fmt-check vet staticcheck run bench

## test: install what the tests need, lint, then run every test with the race detector
test: deps lint
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

## deps: Debian packages (redis-server, Node.js, Chromium) and npm ci
deps:
	./scripts/test-deps.sh

## lint: gofmt, go vet and staticcheck
lint: fmt-check vet staticcheck

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) run $(STATICCHECK) ./...

## run: one node on in-memory stores at http://localhost:3000
run:
	$(GO) run ./cmd/parley

## bench: Parley against Node.js socket.io 4.8.4 in the same run (idle
## memory, fan-out, echo; medians of 3 runs and ratios). About 20 minutes;
## not part of `make test`. Needs npm ci (make deps).
BENCH_FLAGS ?=
bench: deps
	$(GO) build -o bin/parley-bench ./cmd/parley-bench
	./bin/parley-bench run -json bin/bench.json $(BENCH_FLAGS)
