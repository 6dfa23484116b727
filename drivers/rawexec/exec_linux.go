package rawexec

import (
	"errors"
	"os/exec"
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
