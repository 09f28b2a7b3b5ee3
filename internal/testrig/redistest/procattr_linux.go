package redistest

import "syscall"

// procAttr makes the kernel kill redis-server when the thread that started it
// exits, so a crashed or killed test binary leaves no server behind. (Go
// threads live as long as the process unless a goroutine exits while locked
// to one, which this package never does.)
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
