package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// clusterBusOffset is the distance between a cluster node's client port and
// its cluster bus port.
const clusterBusOffset = 10000

// freePort asks the kernel for a free 127.0.0.1 port. For a cluster node the
// bus port (port+10000) must be free as well. The port is released before
// returning, so the caller must be ready for it to be taken in the meantime.
func freePort(cluster bool) (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if !cluster {
			_ = l.Close()
			return port, nil
		}
		busFree := false
		if port+clusterBusOffset <= 65535 {
			if bus, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+clusterBusOffset)); err == nil {
				_ = bus.Close()
				busFree = true
			}
		}
		_ = l.Close()
		if busFree {
			return port, nil
		}
	}
	return 0, errors.New("find a free port: no port with a free cluster bus port")
}

// waitPing polls addr with a raw PING until it answers PONG, the process
// exits (done is closed) or the timeout passes.
func waitPing(addr string, done <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return errors.New("process exited before answering PING")
		default:
		}
		if lastErr = ping(addr); lastErr == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no answer to PING within %v: %v", timeout, lastErr)
}

// ping speaks just enough RESP to check that a server is ready. A server
// still loading answers "-LOADING ...", which counts as not ready.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// tailFile returns the last n lines of a file, or a note saying why it could
// not be read.
func tailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// readFrom returns a file's content from offset on (what one process run
// wrote to a log shared by restarts), capped to its last 4 KiB.
func readFrom(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	data, _ := io.ReadAll(f)
	const limit = 4096
	if len(data) > limit {
		data = data[len(data)-limit:]
	}
	return string(data)
}
