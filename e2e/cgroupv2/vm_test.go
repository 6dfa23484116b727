//go:build e2e

package cgroupv2

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nomadish/nomadish/drivers/drivertest"
)

// vmTools are what booting the VM takes from the host.
type vmTools struct {
	qemu, kernel, busybox string
}

// aptPackages provide the tools on Debian. The cloud flavour of Debian's
// kernel is the linux-image-amd64 kernel built for VMs: a third of its
// download, with the serial console, devtmpfs, cgroups and namespaces
// built in, so an initramfs alone boots it.
var aptPackages = []string{"qemu-system-x86", "linux-image-cloud-amd64", "busybox-static"}

// findTools finds qemu, a kernel and a static busybox, installing them
// with apt-get when they are missing; it skips the test (fails it when
// NOMADISH_REQUIRE_RUNTIMES is set) when they cannot be had.
func findTools(t *testing.T) vmTools {
	t.Helper()
	tl, err := lookTools()
	if err == nil {
		return tl
	}
	t.Logf("%v; installing %s", err, strings.Join(aptPackages, " "))
	if ierr := aptInstall(); ierr != nil {
		drivertest.SkipOrFail(t, "the cgroup v2 VM needs qemu, a kernel and a static busybox (%v), and apt-get install %s failed: %v",
			err, strings.Join(aptPackages, " "), ierr)
	}
	if tl, err = lookTools(); err != nil {
		drivertest.SkipOrFail(t, "the cgroup v2 VM needs qemu, a kernel and a static busybox, still missing after apt-get install: %v", err)
	}
	return tl
}

func lookTools() (vmTools, error) {
	var (
		tl   vmTools
		errs []error
		err  error
	)
	if tl.qemu, err = exec.LookPath("qemu-system-x86_64"); err != nil {
		errs = append(errs, err)
	}
	kernels, _ := filepath.Glob("/boot/vmlinuz-*")
	sort.Strings(kernels)
	if len(kernels) == 0 {
		errs = append(errs, errors.New("no kernel in /boot"))
	} else {
		tl.kernel = kernels[len(kernels)-1]
	}
	if err := checkStatic("/bin/busybox"); err != nil {
		errs = append(errs, fmt.Errorf("busybox: %w", err))
	} else {
		tl.busybox = "/bin/busybox"
	}
	return tl, errors.Join(errs...)
}

func aptInstall() error {
	if os.Geteuid() != 0 {
		return errors.New("not root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	env := []string{"DEBIAN_FRONTEND=noninteractive"}
	if err := run(ctx, "", env, "apt-get", "update", "-qq"); err != nil {
		return err
	}
	return run(ctx, "", env, "apt-get", append([]string{"install", "-y", "-qq", "--no-install-recommends"}, aptPackages...)...)
}

// run runs a command and returns its output's end with the error.
func run(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail(string(out), 30))
	}
	return nil
}

// checkStatic fails for a file that is not an ELF executable or needs a
// dynamic loader, which the VM does not have.
func checkStatic(file string) error {
	f, err := elf.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", file)
		}
	}
	return nil
}

// busyboxApplets lists where busybox's applets go (bin/sh, usr/bin/head, ...).
func busyboxApplets(busybox string) ([]string, error) {
	out, err := exec.Command(busybox, "--list-full").Output()
	if err != nil {
		return nil, err
	}
	var links []string
	for _, p := range strings.Fields(string(out)) {
		dir := path.Dir(p)
		if p != "bin/busybox" && (dir == "bin" || dir == "sbin" || dir == "usr/bin" || dir == "usr/sbin") {
			links = append(links, p)
		}
	}
	return links, nil
}

// accelerators are the qemu accelerators to try, in order. KVM is tried
// only when the CPU shows vmx or svm: this project's machines have
// /dev/kvm without them, and a KVM guest there stops with an emulation
// failure (default CPU model), cannot start (-cpu host: MSR 0x10a) or
// hangs early in boot, while TCG runs the whole VM in about a minute.
// NOMADISH_VM_ACCEL picks one.
func accelerators() []string {
	if a := os.Getenv("NOMADISH_VM_ACCEL"); a != "" {
		return []string{a}
	}
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil {
		f.Close()
		if b, err := os.ReadFile("/proc/cpuinfo"); err == nil && (bytes.Contains(b, []byte(" vmx")) || bytes.Contains(b, []byte(" svm"))) {
			return []string{"kvm", "tcg"}
		}
	}
	return []string{"tcg"}
}

// bootTimeout bounds the time to the init's first marker; a guest that
// has not got there will not (a KVM that cannot run it hangs).
const bootTimeout = 2 * time.Minute

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// bootVM boots the kernel with initrd under qemu and returns the serial
// console's output (also written to logPath) once the VM powers off or
// vmTimeout passes.
func bootVM(t *testing.T, tl vmTools, initrd, accel, logPath string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), vmTimeout)
	defer cancel()
	args := []string{
		"-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
		"-accel", accel, "-m", "1024", "-smp", "2",
		"-kernel", tl.kernel, "-initrd", initrd,
		// loglevel=1 keeps kernel messages (the OOM killer's report)
		// from cutting into the tests' output; a panic powers off.
		"-append", "console=ttyS0 loglevel=1 panic=-1",
	}
	if accel == "kvm" {
		args = append(args, "-cpu", "host")
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	defer logFile.Close()
	var out syncBuffer
	cmd := exec.CommandContext(ctx, tl.qemu, args...)
	cmd.Stdout = io.MultiWriter(logFile, &out)
	cmd.Stderr = cmd.Stdout
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return "", err
	}
	exited := make(chan struct{})
	go func() {
		select {
		case <-time.After(bootTimeout):
			if !strings.Contains(out.String(), markBooted) {
				cancel()
			}
		case <-exited:
		}
	}()
	err = cmd.Wait()
	close(exited)
	if ctx.Err() != nil {
		err = fmt.Errorf("VM stopped after %v: %w", vmTimeout, ctx.Err())
		if !strings.Contains(out.String(), markBooted) {
			err = fmt.Errorf("VM did not boot within %v", bootTimeout)
		}
	}
	return strings.ReplaceAll(out.String(), "\r", ""), err
}

// initramfsFile is a host file copied into the initramfs at path.
type initramfsFile struct {
	path, src string
}

// writeInitramfs writes an uncompressed newc cpio archive (uncompressed,
// so that a TCG guest does not spend its time inflating it): the
// directories a root needs, files, busybox applet links, a passwd with
// root and nobody, and the init script.
func writeInitramfs(out string, files []initramfsFile, applets []string, init string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	w := &cpioWriter{w: bufio.NewWriterSize(f, 1<<20), dirs: map[string]bool{}}
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp", "run", "root", "var/tmp", "e2e"} {
		w.mkdirAll(d)
	}
	w.data("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"))
	w.data("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n"))
	w.data("etc/hosts", 0o644, []byte("127.0.0.1 localhost nomadish-vm\n"))
	for _, file := range files {
		w.copy(file.path, file.src)
	}
	for _, a := range applets {
		w.symlink(a, "/bin/busybox")
	}
	w.data("init", 0o755, []byte(init))
	w.entry("TRAILER!!!", 0, nil, 0)
	if w.err != nil {
		return w.err
	}
	if err := w.w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// cpioWriter writes the newc format the kernel unpacks into its rootfs;
// the first error sticks.
type cpioWriter struct {
	w    *bufio.Writer
	n    int64
	ino  uint32
	dirs map[string]bool
	err  error
}

func (c *cpioWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.err = err
}

func (c *cpioWriter) pad() {
	if r := c.n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

// entry writes one header, then size bytes from body.
func (c *cpioWriter) entry(name string, mode uint32, body io.Reader, size int64) {
	c.ino++
	nlink := 1
	if mode&0o170000 == 0o040000 {
		nlink = 2
	}
	c.write([]byte(fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, len(name)+1, 0)))
	c.write(append([]byte(name), 0))
	c.pad()
	if body != nil && c.err == nil {
		n, err := io.Copy(c.w, body)
		c.n += n
		if err == nil && n != size {
			err = fmt.Errorf("%s: wrote %d bytes, want %d", name, n, size)
		}
		c.err = err
	}
	c.pad()
}

func (c *cpioWriter) mkdirAll(dir string) {
	if dir == "." || dir == "" || c.dirs[dir] {
		return
	}
	c.mkdirAll(path.Dir(dir))
	c.dirs[dir] = true
	c.entry(dir, 0o040755, nil, 0)
}

func (c *cpioWriter) data(name string, perm uint32, b []byte) {
	c.mkdirAll(path.Dir(name))
	c.entry(name, 0o100000|perm, bytes.NewReader(b), int64(len(b)))
}

func (c *cpioWriter) copy(name, src string) {
	if c.err != nil {
		return
	}
	f, err := os.Open(src)
	if err != nil {
		c.err = err
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		c.err = err
		return
	}
	c.mkdirAll(path.Dir(name))
	c.entry(name, 0o100000|uint32(fi.Mode().Perm()), f, fi.Size())
}

func (c *cpioWriter) symlink(name, target string) {
	c.mkdirAll(path.Dir(name))
	c.entry(name, 0o120777, strings.NewReader(target), int64(len(target)))
}
