// Package testrig holds, in its subpackages, what Parley's tests run
// against and nothing else: real redis-server processes (redistest), Node.js
// scripts and the official clients (nodetest), recording chat clients
// (chattest) and cluster rigs of Parley nodes and Node.js peers
// (clustertest); this package itself has what several of them and the
// tests share (MapLeaves). Production code never imports them; the production
// internals are internal/wire, internal/notepack, internal/hashtag and
// internal/timers.
package testrig
