package rawexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/executor"
)

var _ drivers.ExecStreamer = (*Driver)(nil)

// execWaitDelay bounds how long an exited command's streams are waited for.
const execWaitDelay = time.Second

// ExecTaskStreaming runs a command on the host with the task's environment,
// directory and user, its input and output streamed.
func (d *Driver) ExecTaskStreaming(ctx context.Context, taskID string, opts *drivers.ExecOptions) (*drivers.ExitResult, error) {
	cfg, _, err := d.tasks.Config(taskID)
	if err != nil {
		return nil, err
	}
	if len(opts.Command) == 0 {
		return nil, errors.New("exec: empty command")
	}
	path, err := LookPath(opts.Command[0], cfg.TaskDir, cfg.Env["PATH"])
	if err != nil {
		return nil, err
	}
	c := exec.CommandContext(ctx, path, opts.Command[1:]...)
	c.Env = EnvList(cfg.Env)
	c.Dir = cfg.TaskDir
	if cfg.User != "" {
		spec := &executor.Spec{}
		if err := SetUser(spec, cfg.User); err != nil {
			return nil, err
		}
		c.SysProcAttr = credential(spec)
	}
	if err := inNetns(c, cfg.NetworkNamespace); err != nil {
		return nil, err
	}
	return RunStreaming(c, opts)
}

// RunStreaming runs c with the session's streams: on a new terminal that
// becomes its controlling terminal when opts.Tty, else on pipes.
func RunStreaming(c *exec.Cmd, opts *drivers.ExecOptions) (*drivers.ExitResult, error) {
	c.WaitDelay = execWaitDelay
	if !opts.Tty {
		c.Stdin, c.Stdout, c.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
		return runResult(c.Run(), c), nil
	}
	ptm, pts, err := openPty()
	if err != nil {
		return nil, fmt.Errorf("allocate terminal: %w", err)
	}
	defer ptm.Close()
	c.Stdin, c.Stdout, c.Stderr = pts, pts, pts
	if c.SysProcAttr == nil {
		c.SysProcAttr = &syscall.SysProcAttr{}
	}
	c.SysProcAttr.Setsid = true
	c.SysProcAttr.Setctty = true
	c.SysProcAttr.Ctty = 0
	err = c.Start()
	pts.Close()
	if err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	defer close(stop)
	if opts.Resize != nil {
		go func() {
			for {
				select {
				case <-stop:
					return
				case sz, ok := <-opts.Resize:
					if !ok {
						return
					}
					_ = unix.IoctlSetWinsize(int(ptm.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(sz.Height), Col: uint16(sz.Width)})
				}
			}
		}()
	}
	if opts.Stdin != nil {
		go func() { _, _ = io.Copy(ptm, opts.Stdin) }()
	}
	out := make(chan struct{})
	go func() {
		// Reading the terminal ends with EIO once no process holds it.
		_, _ = io.Copy(opts.Stdout, ptm)
		close(out)
	}()
	err = c.Wait()
	select {
	case <-out:
	case <-time.After(execWaitDelay):
	}
	return runResult(err, c), nil
}

func runResult(err error, c *exec.Cmd) *drivers.ExitResult {
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil
		if c.ProcessState != nil && !c.ProcessState.Success() {
			err = &exec.ExitError{ProcessState: c.ProcessState}
		}
	}
	return RunResult(err, c)
}

// openPty opens a new pseudo-terminal pair.
func openPty() (*os.File, *os.File, error) {
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	fd := int(ptm.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		ptm.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		ptm.Close()
		return nil, nil, fmt.Errorf("pty number: %w", err)
	}
	pts, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		ptm.Close()
		return nil, nil, err
	}
	return ptm, pts, nil
}
