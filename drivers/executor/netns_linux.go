package executor

import (
	"fmt"
	"runtime"
)

// inNetns runs start on an OS thread that joined the network namespace at
// path, so the process start forks is born in that namespace. The thread
// is never handed back to the runtime: it ends with the goroutine, and the
// executor's other threads stay in the host namespace.
func inNetns(path string, start func() error) error {
	errCh := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := joinNetns(path); err != nil {
			errCh <- fmt.Errorf("join network namespace %s: %w", path, err)
			return
		}
		errCh <- start()
	}()
	return <-errCh
}
