package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nomadish/nomadish/drivers"
)

// HandleVersion is the version of the DriverState format written by Tasks.
const HandleVersion = 1

// DefaultKillSignal is sent by StopTask when neither the call nor the task
// names one, as in Nomad.
const DefaultKillSignal = "SIGINT"

// Tasks is the table of executor-backed tasks of one driver, and the
// driver methods that only need it. Safe for concurrent use.
type Tasks struct {
	mu sync.RWMutex
	m  map[string]*task
}

type task struct {
	cfg    *drivers.TaskConfig
	handle *Handle
}

// NewTasks returns an empty table.
func NewTasks() *Tasks { return &Tasks{m: map[string]*task{}} }

// StateDirFor is where a task's executor keeps its files: beside the task
// directory, so an isolated task cannot see it.
func StateDirFor(cfg *drivers.TaskConfig) string {
	id := strings.NewReplacer("/", "_", "..", "_").Replace(cfg.ID)
	return filepath.Join(filepath.Dir(filepath.Clean(cfg.TaskDir)), ".executor", id)
}

// Start launches the task and records it; the returned handle is for the client.
func (ts *Tasks) Start(ctx context.Context, cfg *drivers.TaskConfig, spec *Spec) (*drivers.TaskHandle, error) {
	ts.mu.RLock()
	_, dup := ts.m[cfg.ID]
	ts.mu.RUnlock()
	if dup {
		return nil, fmt.Errorf("task %s already started", cfg.ID)
	}
	h, err := Launch(ctx, &LaunchConfig{
		StateDir:        StateDirFor(cfg),
		Spec:            spec,
		StdoutPath:      cfg.StdoutPath,
		StderrPath:      cfg.StderrPath,
		LogMaxFiles:     cfg.LogMaxFiles,
		LogMaxFileBytes: int64(cfg.LogMaxFileSizeMB) << 20,
	})
	if err != nil {
		return nil, err
	}
	state, err := json.Marshal(h.State())
	if err != nil {
		return nil, err
	}
	ts.mu.Lock()
	ts.m[cfg.ID] = &task{cfg: cfg, handle: h}
	ts.mu.Unlock()
	return &drivers.TaskHandle{Version: HandleVersion, Config: cfg, State: drivers.TaskStateRunning, DriverState: state}, nil
}

// Recover re-attaches to a task from its handle. Recovering a task this
// driver already tracks is a no-op.
func (ts *Tasks) Recover(handle *drivers.TaskHandle) error {
	if handle == nil || handle.Config == nil {
		return errors.New("recover task: handle without config")
	}
	if handle.Version != HandleVersion {
		return fmt.Errorf("recover task: handle version %d, want %d", handle.Version, HandleVersion)
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if _, ok := ts.m[handle.Config.ID]; ok {
		return nil
	}
	var st State
	if err := json.Unmarshal(handle.DriverState, &st); err != nil {
		return fmt.Errorf("recover task: decode driver state: %w", err)
	}
	h, err := Attach(st)
	if err != nil {
		return fmt.Errorf("recover task: %w", err)
	}
	ts.m[handle.Config.ID] = &task{cfg: handle.Config, handle: h}
	return nil
}

func (ts *Tasks) get(id string) (*task, error) {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	t, ok := ts.m[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", drivers.ErrTaskNotFound, id)
	}
	return t, nil
}

// Wait returns a channel that yields the exit result once. The goroutine
// behind it ends with ctx, the task's exit, or the task's destruction.
func (ts *Tasks) Wait(ctx context.Context, id string) (<-chan *drivers.ExitResult, error) {
	t, err := ts.get(id)
	if err != nil {
		return nil, err
	}
	ch := make(chan *drivers.ExitResult, 1)
	go func() {
		defer close(ch)
		select {
		case <-t.handle.Done():
			res, _ := t.handle.Result()
			ch <- res
		case <-t.handle.stop:
		case <-ctx.Done():
		}
	}()
	return ch, nil
}

// Stop signals the task, waits up to timeout, then kills it.
func (ts *Tasks) Stop(ctx context.Context, id string, timeout time.Duration, signal string) error {
	t, err := ts.get(id)
	if err != nil {
		return err
	}
	if signal == "" {
		signal = t.cfg.KillSignal
	}
	if signal == "" {
		signal = DefaultKillSignal
	}
	sig, err := ParseSignal(signal)
	if err != nil {
		return err
	}
	return t.handle.Stop(ctx, sig, timeout)
}

// Destroy forgets a task and removes its executor state. A running task is
// an error unless force, which kills it first.
func (ts *Tasks) Destroy(ctx context.Context, id string, force bool) error {
	t, err := ts.get(id)
	if err != nil {
		return err
	}
	if t.handle.Running() {
		if !force {
			return fmt.Errorf("task %s is still running", id)
		}
		if err := t.handle.Stop(ctx, syscall.SIGKILL, 0); err != nil {
			return err
		}
	}
	t.handle.Close()
	ts.mu.Lock()
	delete(ts.m, id)
	ts.mu.Unlock()
	return t.handle.Cleanup()
}

// Inspect reports the task's state.
func (ts *Tasks) Inspect(id string) (*drivers.TaskStatus, error) {
	t, err := ts.get(id)
	if err != nil {
		return nil, err
	}
	st := t.handle.State()
	status := &drivers.TaskStatus{
		ID:         t.cfg.ID,
		Name:       t.cfg.Name,
		State:      drivers.TaskStateRunning,
		StartedAt:  st.StartedAt,
		Attributes: map[string]string{"pid": fmt.Sprint(st.TaskPID)},
	}
	if res, at := t.handle.Result(); res != nil {
		status.State = drivers.TaskStateExited
		status.CompletedAt = at
		status.ExitResult = res
	}
	return status, nil
}

// Stats streams the task's usage.
func (ts *Tasks) Stats(ctx context.Context, id string, interval time.Duration) (<-chan *drivers.TaskResourceUsage, error) {
	t, err := ts.get(id)
	if err != nil {
		return nil, err
	}
	return t.handle.Stats(ctx, interval), nil
}

// Signal sends a named signal to the task.
func (ts *Tasks) Signal(id, signal string) error {
	t, err := ts.get(id)
	if err != nil {
		return err
	}
	sig, err := ParseSignal(signal)
	if err != nil {
		return err
	}
	return t.handle.Signal(sig)
}

// Config returns the task's config and executor state.
func (ts *Tasks) Config(id string) (*drivers.TaskConfig, State, error) {
	t, err := ts.get(id)
	if err != nil {
		return nil, State{}, err
	}
	return t.cfg, t.handle.State(), nil
}

// Close stops watching every task; the tasks keep running.
func (ts *Tasks) Close() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for id, t := range ts.m {
		t.handle.Close()
		delete(ts.m, id)
	}
}

// ParseSignal accepts "SIGINT", "INT", "sigint" or a number.
func ParseSignal(name string) (syscall.Signal, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if n == "" {
		return 0, errors.New("empty signal name")
	}
	var num int
	if _, err := fmt.Sscanf(n, "%d", &num); err == nil && fmt.Sprint(num) == n {
		if num <= 0 || num > 64 {
			return 0, fmt.Errorf("invalid signal %q", name)
		}
		return syscall.Signal(num), nil
	}
	if !strings.HasPrefix(n, "SIG") {
		n = "SIG" + n
	}
	s := unix.SignalNum(n)
	if s == 0 {
		return 0, fmt.Errorf("unknown signal %q", name)
	}
	return s, nil
}
