package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nomadish/nomadish/drivers"
)

// ErrExited is returned when signalling a task that has already exited.
var ErrExited = errors.New("task has exited")

// State is what a driver persists in the task handle to re-attach.
type State struct {
	StateDir          string    `json:"state_dir"`
	ExecutorPID       int       `json:"executor_pid"`
	ExecutorStartTick uint64    `json:"executor_start_tick"`
	TaskPID           int       `json:"task_pid"`
	TaskStartTick     uint64    `json:"task_start_tick"`
	StartedAt         time.Time `json:"started_at"`
	// Cgroup is set for isolated tasks.
	Cgroup string `json:"cgroup,omitempty"`
	// SignalPID sends signals to the task's pid, the init of its own pid
	// namespace, instead of to its process group.
	SignalPID bool `json:"signal_pid,omitempty"`
}

// LaunchConfig is what Launch needs.
type LaunchConfig struct {
	// StateDir holds the spec, the exit record and the executor's log.
	StateDir   string
	Spec       *Spec
	StdoutPath string
	StderrPath string
	// LogMaxFiles and LogMaxFileBytes, when both are set, make the
	// executor rotate the output files (see LogSpec).
	LogMaxFiles     int
	LogMaxFileBytes int64
}

// Handle tracks one task run by an executor. One goroutine per handle
// watches for the exit; Close stops it.
type Handle struct {
	state State
	// child is true when this process started the executor and so must reap it.
	child bool

	done chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup

	mu          sync.Mutex
	result      *drivers.ExitResult
	completedAt time.Time
}

// Launch starts an executor that starts the task, and waits until the task
// runs or failed to start. The executor runs in its own session so the
// task survives the plugin.
func Launch(ctx context.Context, cfg *LaunchConfig) (*Handle, error) {
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, err
	}
	spec := *cfg.Spec
	stdoutPath, stderrPath := cfg.StdoutPath, cfg.StderrPath
	if cfg.LogMaxFiles > 0 && cfg.LogMaxFileBytes > 0 {
		spec.Logs = &LogSpec{StdoutPath: cfg.StdoutPath, StderrPath: cfg.StderrPath, MaxFiles: cfg.LogMaxFiles, MaxFileBytes: cfg.LogMaxFileBytes}
		stdoutPath, stderrPath = os.DevNull, os.DevNull
	}
	if err := writeJSONAtomic(filepath.Join(cfg.StateDir, specFile), &spec); err != nil {
		return nil, fmt.Errorf("write executor spec: %w", err)
	}
	os.Remove(filepath.Join(cfg.StateDir, exitFile))
	stdout, err := openLog(stdoutPath)
	if err != nil {
		return nil, err
	}
	defer stdout.Close()
	stderr, err := openLog(stderrPath)
	if err != nil {
		return nil, err
	}
	defer stderr.Close()
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer statusR.Close()
	cmd := &exec.Cmd{
		Path:        self,
		Args:        []string{self},
		Env:         []string{EnvExecutor + "=" + cfg.StateDir, "PATH=/usr/local/bin:/usr/bin:/bin"},
		Dir:         "/",
		ExtraFiles:  []*os.File{stdout, stderr, statusW},
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	err = cmd.Start()
	statusW.Close()
	if err != nil {
		return nil, fmt.Errorf("start executor: %w", err)
	}
	deadline := time.Now().Add(time.Minute)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = statusR.SetReadDeadline(deadline)
	var rep startReport
	if err := json.NewDecoder(statusR).Decode(&rep); err != nil {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		return nil, fmt.Errorf("executor did not report the task's start: %w", err)
	}
	if rep.Err != "" {
		_, _ = cmd.Process.Wait()
		return nil, errors.New(rep.Err)
	}
	st := State{
		StateDir:          cfg.StateDir,
		ExecutorPID:       cmd.Process.Pid,
		ExecutorStartTick: startTick(cmd.Process.Pid),
		TaskPID:           rep.TaskPID,
		TaskStartTick:     startTick(rep.TaskPID),
		StartedAt:         rep.StartedAt,
	}
	if cfg.Spec.Isolation != nil {
		st.Cgroup = cfg.Spec.Isolation.Cgroup
		st.SignalPID = !cfg.Spec.Isolation.HostPID
	}
	return newHandle(st, true), nil
}

func openLog(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
}

// Attach re-attaches to a task started by an earlier plugin process.
func Attach(st State) (*Handle, error) {
	if st.StateDir == "" || st.ExecutorPID == 0 {
		return nil, errors.New("incomplete executor state")
	}
	if _, err := os.Stat(st.StateDir); err != nil {
		return nil, fmt.Errorf("executor state: %w", err)
	}
	return newHandle(st, false), nil
}

func newHandle(st State, child bool) *Handle {
	h := &Handle{state: st, child: child, done: make(chan struct{}), stop: make(chan struct{})}
	h.wg.Add(1)
	go h.watch()
	return h
}

// State returns what to persist for Attach.
func (h *Handle) State() State { return h.state }

// Done is closed when the task's exit is known.
func (h *Handle) Done() <-chan struct{} { return h.done }

// Result returns the exit result and time, or nil before Done.
func (h *Handle) Result() (*drivers.ExitResult, time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.result, h.completedAt
}

// Close stops watching; the task itself is left alone.
func (h *Handle) Close() {
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
	h.wg.Wait()
}

// Cleanup removes the state directory and any cgroup left behind by an
// executor that died. Call it after the task exited and Close.
func (h *Handle) Cleanup() error {
	var errs []error
	if h.state.Cgroup != "" {
		if cg, err := loadCgroup(h.state.Cgroup); err == nil {
			errs = append(errs, cg.destroy())
		}
	}
	errs = append(errs, os.RemoveAll(h.state.StateDir))
	return errors.Join(errs...)
}

func (h *Handle) watch() {
	defer h.wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	executorGone := false
	for {
		if h.checkExit() {
			return
		}
		if executorGone {
			// Nothing will record this task's exit any more; do not leave
			// it running untracked.
			msg := "executor exited without recording the task's exit"
			if h.signalTask(syscall.SIGKILL) == nil {
				msg += "; task killed"
			}
			h.finish(&drivers.ExitResult{Err: msg}, time.Now())
			return
		}
		executorGone = h.executorExited()
		if executorGone {
			continue
		}
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
	}
}

func (h *Handle) checkExit() bool {
	var rec exitRecord
	if err := readJSON(filepath.Join(h.state.StateDir, exitFile), &rec); err != nil {
		return false
	}
	h.finish(&drivers.ExitResult{
		ExitCode:  rec.ExitCode,
		Signal:    rec.Signal,
		OOMKilled: rec.OOMKilled,
		Err:       rec.Err,
	}, rec.CompletedAt)
	return true
}

func (h *Handle) finish(res *drivers.ExitResult, at time.Time) {
	h.mu.Lock()
	h.result, h.completedAt = res, at
	h.mu.Unlock()
	close(h.done)
}

func (h *Handle) executorExited() bool {
	pid := h.state.ExecutorPID
	if h.child {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		return wpid == pid || errors.Is(err, unix.ECHILD)
	}
	return !alive(pid, h.state.ExecutorStartTick)
}

// Running reports whether the task has not exited yet.
func (h *Handle) Running() bool {
	select {
	case <-h.done:
		return false
	default:
		return true
	}
}

// Signal sends sig to the task: to its process group, or for an isolated
// task to the init of its pid namespace.
func (h *Handle) Signal(sig syscall.Signal) error {
	if !h.Running() {
		return ErrExited
	}
	return h.signalTask(sig)
}

func (h *Handle) signalTask(sig syscall.Signal) error {
	if !alive(h.state.TaskPID, h.state.TaskStartTick) {
		return ErrExited
	}
	target := -h.state.TaskPID
	if h.state.SignalPID {
		target = h.state.TaskPID
	}
	err := unix.Kill(target, sig)
	if errors.Is(err, unix.ESRCH) {
		return ErrExited
	}
	return err
}

// Stop sends sig, waits up to timeout for the exit, then kills the task
// and waits for the exit until ctx is done.
func (h *Handle) Stop(ctx context.Context, sig syscall.Signal, timeout time.Duration) error {
	if err := h.Signal(sig); err != nil && !errors.Is(err, ErrExited) {
		return fmt.Errorf("send %v: %w", sig, err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-h.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	if err := h.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, ErrExited) {
		return fmt.Errorf("kill: %w", err)
	}
	select {
	case <-h.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
