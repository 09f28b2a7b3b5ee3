// Command parley runs one Parley node: the private-messaging chat over
// Socket.IO, with its page at / and the Socket.IO endpoint at /socket.io/.
//
// With no configuration it runs alone on in-memory stores; see --help.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/parley-chat/parley/server"
	"github.com/parley-chat/parley/socketio"
	"github.com/parley-chat/parley/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "hash-password" {
		return hashPassword(args[1:], os.Stdin, stdout, stderr)
	}
	cfg, err := parseConfig(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.logLevel}))
	scfg := server.Config{
		Addr:            cfg.addr,
		AllowedOrigins:  cfg.corsOrigins,
		MaxMessageChars: cfg.maxMessageLength,
		Page:            web.Handler(),
		Registry:        server.NewRegistry(),
		Logger:          log,
	}
	if scfg.Admin = cfg.adminConfig(log); scfg.Admin != nil && scfg.Admin.NoAuth {
		log.Warn("parley: the admin UI has no authentication (--admin-auth off): anyone who can reach this server can watch and steer every client from a dashboard")
	}
	if cfg.recovery {
		scfg.SocketIO.Recovery = &socketio.Recovery{MaxDisconnection: cfg.recoveryWindow}
	}
	var parts *clusterParts
	if cfg.redisURL != "" {
		if parts, err = joinCluster(cfg, &scfg, log); err != nil {
			fmt.Fprintf(stderr, "parley: %v\n", err)
			return 2
		}
		log.Info("parley: cluster mode", "redis", redactURL(cfg.redisURL), "redis_cluster", cfg.redisCluster,
			"adapter", cfg.adapter, "recovery", cfg.recovery, "node", parts.node.UID())
	}
	code := 0
	if err := server.New(scfg).Run(ctx); err != nil {
		log.Error("parley: stopped", "err", err)
		code = 1
	}
	if parts != nil {
		leaveCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := parts.leave(leaveCtx); err != nil {
			log.Warn("parley: leaving the cluster", "err", err)
		}
	}
	log.Info("parley: stopped")
	return code
}
