package redistest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// StartMain starts a redis-server for code that has no testing.TB, such as
// a TestMain serving Example functions. It returns the server's address and
// a function that stops the server and removes its directory.
func StartMain() (addr string, stop func(), err error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return "", nil, fmt.Errorf("redistest: redis-server is not on PATH (install Redis, e.g. apt-get install redis-server): %w", err)
	}
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return "", nil, fmt.Errorf("redistest: %w", err)
	}
	s := &Server{dir: dir, logPath: filepath.Join(dir, "redis.log")}
	for range startAttempts {
		if s.port, err = freePort(false); err != nil {
			break
		}
		if err = s.launch(); err == nil {
			return s.Addr(), func() {
				s.signal(syscall.SIGTERM)
				_ = os.RemoveAll(dir)
			}, nil
		}
	}
	_ = os.RemoveAll(dir)
	return "", nil, fmt.Errorf("redistest: %w", err)
}
