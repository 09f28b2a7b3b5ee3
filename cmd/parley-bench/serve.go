package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/parley-chat/parley/adapter"
	"github.com/parley-chat/parley/admin"
	"github.com/parley-chat/parley/engineio"
	"github.com/parley-chat/parley/socketio"
	"github.com/parley-chat/parley/wstransport"
)

// serveMain is the "serve" subcommand: Parley's Socket.IO server with the
// two events of the Node peer, broadcast -> io.emit("bcast") and echo with
// an ack. The chat's own handlers (auth, stores) are left out so that the
// comparison measures the same work on both sides.
func serveMain(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on")
	pingInterval := fs.Duration("ping-interval", 25*time.Second, "Engine.IO ping interval")
	pingTimeout := fs.Duration("ping-timeout", 20*time.Second, "Engine.IO ping timeout")
	goroutines := fs.Bool("goroutine-reader", false, "read every connection with its own goroutine")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this address (profiles of the server under load)")
	redisURL := fs.String("redis", "", "join the cluster on this Redis (redis:// URL) with Parley's classic adapter")
	adminMode := fs.String("admin", "off", "the Socket.IO Admin UI: off, production or development (what its cost is measured with)")
	adminPassword := fs.String("admin-password", "bench", "with -admin: the password of the user admin, for a dashboard watching the run")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch *adminMode {
	case "off", string(admin.Production), string(admin.Development):
	default:
		fmt.Fprintf(os.Stderr, "parley-bench serve: -admin: want off, production or development, got %q\n", *adminMode)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ws := wstransport.New(wstransport.Config{GoroutineReader: *goroutines, Logger: log})
	cfg := socketio.Config{
		Engine: engineio.Config{PingInterval: *pingInterval, PingTimeout: *pingTimeout, WebSocket: ws},
		Logger: log,
	}
	var node *adapter.Node
	if *redisURL != "" {
		opts, err := redis.ParseURL(*redisURL)
		if err != nil {
			fmt.Fprintln(os.Stderr, "parley-bench serve: -redis:", err)
			return 2
		}
		rdb := redis.NewClient(opts)
		defer rdb.Close()
		if node, err = adapter.NewClassic(rdb, adapter.Config{Logger: log}); err != nil {
			fmt.Fprintln(os.Stderr, "parley-bench serve:", err)
			return 1
		}
		cfg.Adapter = node.NewAdapter
	}
	io := socketio.New(cfg)
	io.OnConnection(func(s *socketio.Socket) {
		s.On("broadcast", func(args socketio.Args, _ socketio.Ack) { _ = io.Emit("bcast", args.Values()...) })
		s.On("echo", func(args socketio.Args, ack socketio.Ack) { _ = ack.Send(args.Values()...) })
	})
	var ui *admin.Admin
	if *adminMode != "off" {
		// The lowest cost: the hash is made at every start, and its cost
		// only matters to logins, which the benchmark does not make.
		hash, err := bcrypt.GenerateFromPassword([]byte(*adminPassword), bcrypt.MinCost)
		if err != nil {
			fmt.Fprintln(os.Stderr, "parley-bench serve: -admin-password:", err)
			return 2
		}
		ui, err = admin.Instrument(io, admin.Config{Username: "admin", PasswordHash: string(hash), Mode: admin.Mode(*adminMode), Logger: log})
		if err != nil {
			fmt.Fprintln(os.Stderr, "parley-bench serve:", err)
			return 1
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "parley-bench serve:", err)
		return 1
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("parley-bench serve: stopped", "err", err)
		}
	}()
	if *pprofAddr != "" {
		go func() {
			// http.DefaultServeMux carries the pprof handlers.
			if err := http.ListenAndServe(*pprofAddr, nil); err != nil {
				log.Error("parley-bench serve: pprof", "err", err)
			}
		}()
	}
	fmt.Printf("listening %s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	_ = io.Close(sctx)
	if ui != nil {
		_ = ui.Close()
	}
	_ = ws.Shutdown(sctx)
	if node != nil {
		_ = node.Close(sctx)
	}
	return 0
}
