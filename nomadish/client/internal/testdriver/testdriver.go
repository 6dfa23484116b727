// Package testdriver is an in-process driver for the client's tests. It runs
// real host processes like raw_exec, and adds the faults tests need: it can
// forget its tasks, as a restarted plugin would, and fail starts on demand.
package testdriver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/nomadish/nomadish/drivers"
)

// Name is the driver's name.
const Name = "test_exec"

// TaskConfig is the task `config {}` block it accepts.
type TaskConfig struct {
	Command string   `json:"command"`
	Args    []string `json:"args"`
}

type task struct {
	cfg    *drivers.TaskConfig
	cmd    *exec.Cmd
	done   chan struct{}
	result *drivers.ExitResult
}

// Driver runs tasks as host processes.
type Driver struct {
	mu     sync.Mutex
	tasks  map[string]*task
	events chan *drivers.TaskEvent
	// StartErr, when set, fails every StartTask.
	StartErr error
	// Started counts StartTask calls.
	Started int
	// Recovered counts successful RecoverTask calls.
	Recovered int
}

var _ drivers.DriverPlugin = (*Driver)(nil)

// New returns a driver with no tasks.
func New() *Driver {
	return &Driver{tasks: map[string]*task{}, events: make(chan *drivers.TaskEvent, 16)}
}

// Name implements drivers.DriverPlugin.
func (d *Driver) Name() string { return Name }

// ConfigSchema implements drivers.DriverPlugin.
func (d *Driver) ConfigSchema() *drivers.Schema { return &drivers.Schema{} }

// TaskConfigSchema implements drivers.DriverPlugin.
func (d *Driver) TaskConfigSchema() *drivers.Schema { return &drivers.Schema{} }

// SetConfig implements drivers.DriverPlugin.
func (d *Driver) SetConfig(ctx context.Context, config []byte) error { return nil }

// Capabilities implements drivers.DriverPlugin.
func (d *Driver) Capabilities(ctx context.Context) (*drivers.Capabilities, error) {
	return &drivers.Capabilities{SendSignals: true, FSIsolation: "none"}, nil
}

// Fingerprint implements drivers.DriverPlugin: one healthy value, then the
// channel stays open until ctx ends.
func (d *Driver) Fingerprint(ctx context.Context) (<-chan *drivers.Fingerprint, error) {
	ch := make(chan *drivers.Fingerprint, 1)
	ch <- &drivers.Fingerprint{Health: drivers.HealthStateHealthy, HealthDescription: "Healthy", Attributes: map[string]string{"driver.test_exec.version": "1"}}
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch, nil
}

// StartTask implements drivers.DriverPlugin.
func (d *Driver) StartTask(ctx context.Context, cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	d.mu.Lock()
	d.Started++
	startErr := d.StartErr
	d.mu.Unlock()
	if startErr != nil {
		return nil, startErr
	}
	var tc TaskConfig
	if err := json.Unmarshal(cfg.DriverConfig, &tc); err != nil {
		return nil, fmt.Errorf("decode task config: %w", err)
	}
	if tc.Command == "" {
		return nil, errors.New("missing command")
	}
	stdout, err := os.OpenFile(cfg.StdoutPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer stdout.Close()
	stderr, err := os.OpenFile(cfg.StderrPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer stderr.Close()
	cmd := exec.Command(tc.Command, tc.Args...)
	cmd.Dir = cfg.TaskDir
	for k, v := range cfg.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	t := &task{cfg: cfg, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		res := &drivers.ExitResult{}
		if cmd.ProcessState != nil {
			res.ExitCode = cmd.ProcessState.ExitCode()
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				res.Signal = int(ws.Signal())
			}
		} else if err != nil {
			res.Err = err.Error()
		}
		t.result = res
		close(t.done)
	}()
	d.mu.Lock()
	d.tasks[cfg.ID] = t
	d.mu.Unlock()
	state, _ := json.Marshal(map[string]int{"pid": cmd.Process.Pid})
	return &drivers.TaskHandle{Version: 1, Config: cfg, State: drivers.TaskStateRunning, DriverState: state}, nil
}

func (d *Driver) get(id string) (*task, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.tasks[id]
	if !ok {
		return nil, drivers.ErrTaskNotFound
	}
	return t, nil
}

// RecoverTask implements drivers.DriverPlugin: it knows only its own tasks.
func (d *Driver) RecoverTask(ctx context.Context, h *drivers.TaskHandle) error {
	if _, err := d.get(h.Config.ID); err != nil {
		return err
	}
	d.mu.Lock()
	d.Recovered++
	d.mu.Unlock()
	return nil
}

// WaitTask implements drivers.DriverPlugin.
func (d *Driver) WaitTask(ctx context.Context, id string) (<-chan *drivers.ExitResult, error) {
	t, err := d.get(id)
	if err != nil {
		return nil, err
	}
	ch := make(chan *drivers.ExitResult, 1)
	go func() {
		defer close(ch)
		select {
		case <-t.done:
			ch <- t.result
		case <-ctx.Done():
		}
	}()
	return ch, nil
}

// StopTask implements drivers.DriverPlugin.
func (d *Driver) StopTask(ctx context.Context, id string, timeout time.Duration, signal string) error {
	t, err := d.get(id)
	if err != nil {
		return err
	}
	sig := syscall.SIGINT
	if signal == "SIGTERM" {
		sig = syscall.SIGTERM
	}
	_ = syscall.Kill(-t.cmd.Process.Pid, sig)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-t.done:
	case <-timer.C:
		_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL)
		<-t.done
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// DestroyTask implements drivers.DriverPlugin.
func (d *Driver) DestroyTask(ctx context.Context, id string, force bool) error {
	t, err := d.get(id)
	if err != nil {
		return err
	}
	select {
	case <-t.done:
	default:
		if !force {
			return errors.New("task is running")
		}
		_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL)
		<-t.done
	}
	d.mu.Lock()
	delete(d.tasks, id)
	d.mu.Unlock()
	return nil
}

// InspectTask implements drivers.DriverPlugin.
func (d *Driver) InspectTask(ctx context.Context, id string) (*drivers.TaskStatus, error) {
	t, err := d.get(id)
	if err != nil {
		return nil, err
	}
	st := &drivers.TaskStatus{ID: id, Name: t.cfg.Name, State: drivers.TaskStateRunning}
	select {
	case <-t.done:
		st.State, st.ExitResult = drivers.TaskStateExited, t.result
	default:
	}
	return st, nil
}

// TaskStats implements drivers.DriverPlugin.
func (d *Driver) TaskStats(ctx context.Context, id string, interval time.Duration) (<-chan *drivers.TaskResourceUsage, error) {
	return nil, errors.New("not supported")
}

// SignalTask implements drivers.DriverPlugin for SIGHUP, SIGUSR1 and SIGTERM.
func (d *Driver) SignalTask(ctx context.Context, id string, signal string) error {
	t, err := d.get(id)
	if err != nil {
		return err
	}
	sig, ok := map[string]syscall.Signal{"SIGHUP": syscall.SIGHUP, "SIGUSR1": syscall.SIGUSR1, "SIGTERM": syscall.SIGTERM}[signal]
	if !ok {
		return fmt.Errorf("unsupported signal %q", signal)
	}
	return syscall.Kill(-t.cmd.Process.Pid, sig)
}

// ExecTask implements drivers.DriverPlugin.
func (d *Driver) ExecTask(ctx context.Context, id string, cmd []string, timeout time.Duration) (*drivers.ExecTaskResult, error) {
	return nil, errors.New("not supported")
}

// TaskEvents implements drivers.DriverPlugin: it delivers what Emit sends.
func (d *Driver) TaskEvents(ctx context.Context) (<-chan *drivers.TaskEvent, error) {
	ch := make(chan *drivers.TaskEvent)
	go func() {
		defer close(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-d.events:
				select {
				case ch <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return ch, nil
}

// Emit raises a task event to a TaskEvents subscriber.
func (d *Driver) Emit(ev *drivers.TaskEvent) { d.events <- ev }

// Counts returns how many tasks were started and recovered.
func (d *Driver) Counts() (started, recovered int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.Started, d.Recovered
}

// SetStartErr makes every later StartTask fail with err (nil to clear).
func (d *Driver) SetStartErr(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.StartErr = err
}

// KillAll kills every task's process group and forgets them; tests call it
// in cleanup.
func (d *Driver) KillAll() {
	d.mu.Lock()
	tasks := d.tasks
	d.tasks = map[string]*task{}
	d.mu.Unlock()
	for _, t := range tasks {
		_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL)
		<-t.done
	}
}
