package exec

import (
	"context"
	"errors"
	"fmt"
	osexec "os/exec"
	"strconv"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/rawexec"
)

var _ drivers.ExecStreamer = (*Driver)(nil)

// ExecTaskStreaming runs a command inside the task's namespaces and root,
// as ExecTask does, with its input and output streamed.
func (d *Driver) ExecTaskStreaming(ctx context.Context, taskID string, opts *drivers.ExecOptions) (*drivers.ExitResult, error) {
	cfg, st, err := d.tasks.Config(taskID)
	if err != nil {
		return nil, err
	}
	if len(opts.Command) == 0 {
		return nil, errors.New("exec: empty command")
	}
	nsenter, err := osexec.LookPath("nsenter")
	if err != nil {
		return nil, fmt.Errorf("exec into task needs nsenter: %w", err)
	}
	pid := strconv.Itoa(st.TaskPID)
	args := []string{"--target", pid, "--mount", "--uts", "--ipc", "--pid", "--root", "--wd"}
	if cfg.NetworkNamespace != "" {
		args = append(args, "--net")
	}
	args = append(args, "--")
	priv, err := d.privArgs(cfg, pid)
	if err != nil {
		return nil, err
	}
	args = append(append(args, priv...), opts.Command...)
	c := osexec.CommandContext(ctx, nsenter, args...)
	c.Env = rawexec.EnvList(cfg.Env)
	return rawexec.RunStreaming(c, opts)
}
