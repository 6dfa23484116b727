package network

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// netnsDir is where ip(8) keeps named network namespaces; each is a file
// bind-mounted from the namespace, which keeps it alive with no process.
const netnsDir = "/var/run/netns"

// nsfsMagic is the file system type of a namespace file.
const nsfsMagic = 0x6e736673

func netnsPath(name string) string { return filepath.Join(netnsDir, name) }

// isNetns reports whether path is a live namespace file, not a stale plain
// file left where one was.
func isNetns(path string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return st.Type == nsfsMagic
}

// attachNetns makes the namespace at src (for example a container's
// /proc/<pid>/ns/net) also reachable as name, the way `ip netns attach`
// does, so it outlives src and is found like the namespaces made here.
func attachNetns(src, name string) error {
	if !isNetns(src) {
		return fmt.Errorf("%s is not a network namespace", src)
	}
	if sameFile(src, "/proc/self/ns/net") {
		return fmt.Errorf("%s is the host's own network namespace", src)
	}
	if err := os.MkdirAll(netnsDir, 0o755); err != nil {
		return err
	}
	dst := netnsPath(name)
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	f.Close()
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		os.Remove(dst)
		return fmt.Errorf("bind %s to %s: %w", src, dst, err)
	}
	return nil
}

// sameFile reports whether two paths name the same file (namespace).
func sameFile(a, b string) bool {
	var sa, sb unix.Stat_t
	if unix.Stat(a, &sa) != nil || unix.Stat(b, &sb) != nil {
		return false
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// InNamespace runs fn on an OS thread that joined the network namespace at
// path: sockets fn opens (listeners included) belong to that namespace and
// stay there after fn returns. fn must do that work itself, not in
// goroutines it starts, which run on other threads. The thread is handed
// back to the runtime only once it is back in its own namespace.
func InNamespace(path string, fn func() error) error {
	errCh := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		own, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			errCh <- fmt.Errorf("open own network namespace: %w", err)
			return
		}
		defer own.Close()
		target, err := os.Open(path)
		if err != nil {
			runtime.UnlockOSThread()
			errCh <- fmt.Errorf("open network namespace: %w", err)
			return
		}
		err = unix.Setns(int(target.Fd()), unix.CLONE_NEWNET)
		target.Close()
		if err != nil {
			runtime.UnlockOSThread()
			errCh <- fmt.Errorf("enter network namespace %s: %w", path, err)
			return
		}
		ferr := fn()
		// A thread left in the namespace must not run other goroutines:
		// when it cannot go back, it stays locked and ends with this one.
		if err := unix.Setns(int(own.Fd()), unix.CLONE_NEWNET); err == nil {
			runtime.UnlockOSThread()
		} else {
			ferr = errors.Join(ferr, fmt.Errorf("leave network namespace: %w", err))
		}
		errCh <- ferr
	}()
	return <-errCh
}

// setSysctl writes a value under /proc/sys.
func setSysctl(name, value string) error {
	p := filepath.Join("/proc/sys", name)
	if b, err := os.ReadFile(p); err == nil && string(b) == value+"\n" {
		return nil
	}
	if err := os.WriteFile(p, []byte(value), 0o644); err != nil {
		return fmt.Errorf("set %s: %w", name, err)
	}
	return nil
}
