// Command parley-bench measures Parley against Node.js socket.io 4.8.4 on
// one machine, in one run, so that every figure is a ratio measured under
// the same conditions.
//
// Subcommands:
//
//	parley-bench run [flags]   run the scenarios and print the table (default)
//	parley-bench serve [flags] the Go server under test (Parley's engine)
//	parley-bench clients       a client process driven by "run" over stdin
//
// The clients are raw Engine.IO 4 WebSocket connections (no socket.io client
// object each), spread over several processes and 127.0.x.y source
// addresses so that 19,500 connections fit under a per-process limit of
// 20,000 open files. The scenarios: idle memory (RSS per connection), fan-out
// (receivers, stepped send rates, deliveries per server core-second, loss,
// latency percentiles, then twice the sustainable rate), echo (acked
// events per server core-second), and, when asked for, polling (long-polling
// clients: acked events and broadcasts) and storm (connections opened
// without a rate limit).
package main

import (
	"fmt"
	"os"
)

func main() {
	args := os.Args[1:]
	cmd := "run"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		os.Exit(runMain(args))
	case "serve":
		os.Exit(serveMain(args))
	case "clients":
		os.Exit(clientsMain())
	default:
		fmt.Fprintf(os.Stderr, "parley-bench: unknown subcommand %q (run, serve, clients)\n", cmd)
		os.Exit(2)
	}
}
