//go:build !linux

package main

import "errors"

// listenBacklog needs Linux's sock_diag.
func listenBacklog(int) (queued, limit int, err error) {
	return 0, 0, errors.New("accept queue: Linux only")
}
