//go:build !linux

package redistest

import "syscall"

// procAttr returns no special attributes: only Linux can tie a child's life
// to its parent's, so elsewhere a crashed test binary may leave servers
// running until they are killed by hand.
func procAttr() *syscall.SysProcAttr { return nil }
