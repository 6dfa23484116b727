package executor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Descriptors the executor passes to the init.
const (
	fdInitSync = 3
	fdInitErr  = 4
)

// runInit runs as pid 1 of the task's new namespaces. It waits until the
// executor has placed it in the cgroup, builds the chroot, drops
// capabilities and user, then replaces itself with the task. Errors before
// exec go to the error pipe.
func runInit(stateDir string) int {
	// Capability bounds and the network namespace are per thread; the
	// exec that follows must happen on the thread that set them.
	runtime.LockOSThread()
	errPipe := os.NewFile(fdInitErr, "init-err")
	syscall.CloseOnExec(fdInitErr)
	fail := func(format string, args ...any) int {
		fmt.Fprintf(errPipe, format, args...)
		return 127
	}
	buf := make([]byte, 1)
	sync := os.NewFile(fdInitSync, "init-sync")
	if _, err := sync.Read(buf); err != nil {
		return fail("wait for executor: %v", err)
	}
	sync.Close()

	var spec Spec
	if err := readJSON(filepath.Join(stateDir, specFile), &spec); err != nil {
		return fail("%v", err)
	}
	iso := spec.Isolation
	if iso == nil {
		return fail("init started without isolation spec")
	}
	if err := setupRoot(iso); err != nil {
		return fail("set up task root: %v", err)
	}
	if iso.NetworkNamespace != "" {
		if err := joinNetns(iso.NetworkNamespace); err != nil {
			return fail("join network namespace: %v", err)
		}
	}
	lastCap, err := readLastCap()
	if err != nil {
		return fail("%v", err)
	}
	if err := unix.Chroot(iso.Root); err != nil {
		return fail("chroot: %v", err)
	}
	dir := spec.Dir
	if dir == "" {
		dir = "/"
	}
	if err := os.Chdir(dir); err != nil {
		return fail("chdir %s: %v", dir, err)
	}
	path, err := lookPathIn(spec.Path, spec.Env)
	if err != nil {
		return fail("%v", err)
	}
	if err := dropBoundingCaps(iso.Caps, lastCap); err != nil {
		return fail("drop capabilities: %v", err)
	}
	if spec.RunAsUser {
		groups := make([]int, 0, len(spec.Groups))
		for _, g := range spec.Groups {
			groups = append(groups, int(g))
		}
		if err := syscall.Setgroups(groups); err != nil {
			return fail("setgroups: %v", err)
		}
		if err := syscall.Setgid(int(spec.GID)); err != nil {
			return fail("setgid: %v", err)
		}
		if err := syscall.Setuid(int(spec.UID)); err != nil {
			return fail("setuid: %v", err)
		}
	}
	argv := append([]string{spec.Path}, spec.Args...)
	err = syscall.Exec(path, argv, spec.Env)
	return fail("exec %s: %v", spec.Path, err)
}

// setupRoot makes the mounts of the chroot inside the new mount namespace;
// they disappear with it.
func setupRoot(iso *Isolation) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	root := iso.Root
	for _, m := range iso.Mounts {
		if err := bindMount(m.Source, filepath.Join(root, m.Target), m.ReadOnly); err != nil {
			return err
		}
	}
	proc := filepath.Join(root, "proc")
	if err := os.MkdirAll(proc, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("proc", proc, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount proc: %w", err)
	}
	return setupDev(filepath.Join(root, "dev"))
}

func bindMount(src, dst string, ro bool) error {
	// A symlinked system dir (/lib -> usr/lib) is recreated as the same link.
	if li, err := os.Lstat(src); err == nil && li.Mode()&os.ModeSymlink != 0 {
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if cur, err := os.Readlink(dst); err == nil && cur == target {
			return nil
		}
		return os.Symlink(target, dst)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return err
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_RDONLY, 0o644)
		if err != nil {
			return err
		}
		f.Close()
	}
	if err := unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s: %w", src, err)
	}
	if ro {
		flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY | unix.MS_REC)
		if err := unix.Mount("", dst, "", flags, ""); err != nil {
			return fmt.Errorf("remount %s read-only: %w", dst, err)
		}
	}
	return nil
}

// setupDev gives the task a private /dev with the usual character devices.
func setupDev(dev string) error {
	if err := os.MkdirAll(dev, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID, "mode=755,size=65536k"); err != nil {
		return fmt.Errorf("mount /dev: %w", err)
	}
	for _, name := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		if err := bindMount("/dev/"+name, filepath.Join(dev, name), false); err != nil {
			return err
		}
	}
	for _, d := range []string{"pts", "shm"} {
		if err := os.MkdirAll(filepath.Join(dev, d), 0o755); err != nil {
			return err
		}
	}
	if err := unix.Mount("shm", filepath.Join(dev, "shm"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k"); err != nil {
		return fmt.Errorf("mount /dev/shm: %w", err)
	}
	links := map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dev, name)); err != nil {
			return err
		}
	}
	return nil
}

func joinNetns(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
}

func readLastCap() (int, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// dropBoundingCaps removes every capability not in keep from the bounding
// set of this thread, which the exec'd task inherits.
func dropBoundingCaps(keep []string, lastCap int) error {
	allowed := make(map[int]bool, len(keep))
	for _, name := range keep {
		n, ok := capByName[strings.ToUpper(name)]
		if !ok {
			return fmt.Errorf("unknown capability %q", name)
		}
		allowed[n] = true
	}
	for c := 0; c <= lastCap; c++ {
		if allowed[c] {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("drop cap %d: %w", c, err)
		}
	}
	return nil
}

// lookPathIn resolves a command without a slash against the task's PATH.
func lookPathIn(cmd string, env []string) (string, error) {
	if strings.Contains(cmd, "/") {
		if _, err := os.Stat(cmd); err != nil {
			return "", fmt.Errorf("command %s: %w", cmd, err)
		}
		return cmd, nil
	}
	pathEnv := "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		p := filepath.Join(dir, cmd)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %q: %w", cmd, exec.ErrNotFound)
}
