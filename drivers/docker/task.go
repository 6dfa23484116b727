package docker

import (
	"context"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"

	"github.com/nomadish/nomadish/drivers"
)

// task is one container the driver watches. Its watcher goroutine waits
// for the container to stop, then for the log copier to drain; close
// stops it.
type task struct {
	cli   *client.Client
	cfg   *drivers.TaskConfig
	state driverState

	cancel context.CancelFunc
	wg     sync.WaitGroup
	done   chan struct{} // closed once the exit is known
	closed chan struct{} // closed by close

	mu          sync.Mutex
	result      *drivers.ExitResult
	completedAt time.Time
}

func newTask(cli *client.Client, cfg *drivers.TaskConfig, st driverState, logProc *os.Process) *task {
	// The watcher outlives the call that started the task; the task owns
	// its context and cancels it in close.
	ctx, cancel := context.WithCancel(context.Background())
	t := &task{cli: cli, cfg: cfg, state: st, cancel: cancel, done: make(chan struct{}), closed: make(chan struct{})}
	t.wg.Add(1)
	go t.watch(ctx, logProc)
	return t
}

func (t *task) close() {
	select {
	case <-t.closed:
		return
	default:
	}
	close(t.closed)
	t.cancel()
	t.wg.Wait()
}

func (t *task) running() bool {
	select {
	case <-t.done:
		return false
	default:
		return true
	}
}

func (t *task) exit() (*drivers.ExitResult, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.result, t.completedAt
}

func (t *task) watch(ctx context.Context, logProc *os.Process) {
	defer t.wg.Done()
	backoff := 250 * time.Millisecond
	for {
		res, err := t.waitOnce(ctx)
		if err == nil {
			t.drainLogger(ctx, logProc)
			t.mu.Lock()
			t.result, t.completedAt = res, time.Now()
			t.mu.Unlock()
			close(t.done)
			return
		}
		if ctx.Err() != nil {
			return
		}
		if cerrdefs.IsNotFound(err) {
			t.mu.Lock()
			t.result, t.completedAt = &drivers.ExitResult{Err: "container disappeared: " + err.Error()}, time.Now()
			t.mu.Unlock()
			close(t.done)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// waitOnce waits for the container to stop and reads how it ended.
func (t *task) waitOnce(ctx context.Context) (*drivers.ExitResult, error) {
	w := t.cli.ContainerWait(ctx, t.state.ContainerID, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case <-w.Result:
	case err := <-w.Error:
		return nil, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	ins, err := t.cli.ContainerInspect(ctx, t.state.ContainerID, client.ContainerInspectOptions{})
	if err != nil {
		return nil, err
	}
	s := ins.Container.State
	if s == nil {
		return nil, fmt.Errorf("container %s has no state", t.state.ContainerID)
	}
	res := &drivers.ExitResult{ExitCode: s.ExitCode, OOMKilled: s.OOMKilled, Err: s.Error}
	// The Engine reports a signal death as 128+signal.
	if s.ExitCode > 128 && s.ExitCode <= 128+64 {
		res.Signal = s.ExitCode - 128
	}
	return res, nil
}

// drainLogger waits a bounded time for the log copier to finish, so the
// log files are complete when the exit is reported.
func (t *task) drainLogger(ctx context.Context, logProc *os.Process) {
	deadline := time.Now().Add(logDrainTimeout)
	if logProc != nil {
		exited := make(chan struct{})
		go func() {
			_, _ = logProc.Wait()
			close(exited)
		}()
		select {
		case <-exited:
		case <-ctx.Done():
		case <-time.After(time.Until(deadline)):
			_ = logProc.Kill()
			<-exited
		}
		return
	}
	for processAlive(t.state.Logger.PID, t.state.Logger.Tick) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
}

// parseSignal accepts "SIGINT", "INT" or a number.
func parseSignal(name string) (syscall.Signal, error) {
	var n int
	if _, err := fmt.Sscanf(name, "%d", &n); err == nil && fmt.Sprint(n) == name && n > 0 && n <= 64 {
		return syscall.Signal(n), nil
	}
	s := name
	if len(s) < 3 || s[:3] != "SIG" {
		s = "SIG" + s
	}
	if sig := unix.SignalNum(s); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", name)
}
