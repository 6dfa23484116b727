package rawexec

import (
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/executor"
)

func credential(spec *executor.Spec) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: spec.UID, Gid: spec.GID, Groups: spec.Groups}}
}

// RunResult turns a finished command into an ExitResult.
func RunResult(err error, c *exec.Cmd) *drivers.ExitResult {
	res := &drivers.ExitResult{}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
	default:
		res.Err = err.Error()
		return res
	}
	if c.ProcessState == nil {
		return res
	}
	if ws, ok := c.ProcessState.Sys().(syscall.WaitStatus); ok {
		res.ExitCode = ws.ExitStatus()
		if ws.Signaled() {
			res.Signal = int(ws.Signal())
			res.ExitCode = 128 + res.Signal
		}
	}
	return res
}

// inNetns makes c run in the network namespace at netns, the task's group
// namespace in bridge mode, through nsenter(1); it leaves c alone when
// netns is "".
func inNetns(c *exec.Cmd, netns string) error {
	if netns == "" {
		return nil
	}
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return fmt.Errorf("exec into a task in a network namespace needs nsenter: %w", err)
	}
	args := []string{nsenter, "--net=" + netns}
	// Joining needs root: nsenter drops to the task's user afterwards.
	if a := c.SysProcAttr; a != nil && a.Credential != nil {
		args = append(args, "--setuid", strconv.FormatUint(uint64(a.Credential.Uid), 10), "--setgid", strconv.FormatUint(uint64(a.Credential.Gid), 10))
		a.Credential = nil
	}
	c.Args = append(append(args, "--", c.Path), c.Args[1:]...)
	c.Path = nsenter
	return nil
}
