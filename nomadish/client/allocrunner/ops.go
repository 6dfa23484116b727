package allocrunner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// Errors of the task operations.
var (
	// ErrUnknownTask: the allocation has no such task.
	ErrUnknownTask = errors.New("unknown task")
	// ErrTaskNotRunning: the task has no running process to act on.
	ErrTaskNotRunning = errors.New("task not running")
)

// live returns the running task's driver and ID.
func (ar *AllocRunner) live(task string) (*taskRunner, drivers.DriverPlugin, string, error) {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	tr := ar.tasks[task]
	if tr == nil {
		return nil, nil, "", fmt.Errorf("%w: %q", ErrUnknownTask, task)
	}
	if tr.liveDrv == nil {
		return tr, nil, "", fmt.Errorf("%w: %q", ErrTaskNotRunning, task)
	}
	return tr, tr.liveDrv, tr.liveID, nil
}

// RestartTask restarts a running task, or every running task when task is
// "". The restart does not count against the restart policy.
func (ar *AllocRunner) RestartTask(task string) error {
	names := []string{task}
	if task == "" {
		names = ar.order
	}
	restarted := 0
	for _, n := range names {
		tr, _, _, err := ar.live(n)
		if err != nil {
			if task == "" && errors.Is(err, ErrTaskNotRunning) {
				continue
			}
			return err
		}
		tr.requestRestart(event(structs.TaskRestartSignal, "User requested task to restart"))
		restarted++
	}
	if restarted == 0 {
		return ErrTaskNotRunning
	}
	return nil
}

// SignalTask sends a signal ("SIGHUP") to a running task.
func (ar *AllocRunner) SignalTask(ctx context.Context, task, signal string) error {
	_, drv, id, err := ar.live(task)
	if err != nil {
		return err
	}
	ev := event(structs.TaskSignaling, "Task being sent a signal")
	ev.Details["signal"] = signal
	ar.appendEvent(task, ev)
	return drv.SignalTask(ctx, id, signal)
}

// ExecTask runs a command in a running task's environment and returns its
// output.
func (ar *AllocRunner) ExecTask(ctx context.Context, task string, cmd []string, timeout time.Duration) (*drivers.ExecTaskResult, error) {
	_, drv, id, err := ar.live(task)
	if err != nil {
		return nil, err
	}
	return drv.ExecTask(ctx, id, cmd, timeout)
}

// TaskStats returns one resource usage sample of a running task.
func (ar *AllocRunner) TaskStats(ctx context.Context, task string) (*drivers.TaskResourceUsage, error) {
	_, drv, id, err := ar.live(task)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ch, err := drv.TaskStats(ctx, id, time.Second)
	if err != nil {
		return nil, err
	}
	select {
	case u, ok := <-ch:
		if !ok || u == nil {
			return nil, fmt.Errorf("%w: no stats", ErrTaskNotRunning)
		}
		return u, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
