package containerd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	cgroupsv1 "github.com/containerd/cgroups/v3/cgroup1/stats"
	cgroupsv2 "github.com/containerd/cgroups/v3/cgroup2/stats"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nomadish/nomadish/drivers"
)

// task is one containerd task the driver watches. Its watcher goroutine
// waits for the exit; close stops it.
type task struct {
	cli   *containerd.Client
	ns    string
	cfg   *drivers.TaskConfig
	state driverState
	ct    containerd.Task

	cancel context.CancelFunc
	wg     sync.WaitGroup
	done   chan struct{}
	closed chan struct{}

	mu          sync.Mutex
	result      *drivers.ExitResult
	completedAt time.Time
}

// newTask subscribes to the task's exit before it is started, so a fast
// exit is not missed.
func newTask(cli *containerd.Client, ns string, cfg *drivers.TaskConfig, st driverState, ct containerd.Task) *task {
	// The watcher outlives the call that created it; the task owns its
	// context and cancels it in close.
	ctx, cancel := context.WithCancel(namespaces.WithNamespace(context.Background(), ns))
	t := &task{cli: cli, ns: ns, cfg: cfg, state: st, ct: ct, cancel: cancel, done: make(chan struct{}), closed: make(chan struct{})}
	statusC, err := ct.Wait(ctx)
	t.wg.Add(1)
	go t.watch(ctx, statusC, err)
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

func (t *task) finish(res *drivers.ExitResult, at time.Time) {
	t.mu.Lock()
	t.result, t.completedAt = res, at
	t.mu.Unlock()
	close(t.done)
}

func (t *task) watch(ctx context.Context, statusC <-chan containerd.ExitStatus, err error) {
	defer t.wg.Done()
	backoff := 250 * time.Millisecond
	for {
		if err == nil {
			select {
			case st := <-statusC:
				code, at, werr := st.Result()
				if werr != nil && ctx.Err() != nil {
					return
				}
				if werr == nil {
					res := &drivers.ExitResult{ExitCode: int(code), OOMKilled: oomKilled(t.state.Cgroup)}
					if code > 128 && code <= 128+64 {
						res.Signal = int(code) - 128
					}
					t.finish(res, at)
					return
				}
				err = werr
			case <-ctx.Done():
				return
			}
		}
		if cerrdefs.IsNotFound(err) {
			t.finish(&drivers.ExitResult{Err: "task disappeared: " + err.Error()}, time.Now())
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
		statusC, err = t.ct.Wait(ctx)
	}
}

// oomKilled reads the OOM kill count of the task's memory cgroup, which
// stays until the task is deleted.
func oomKilled(cgroup string) bool {
	for _, p := range []string{
		filepath.Join("/sys/fs/cgroup/memory", cgroup, "memory.oom_control"),
		filepath.Join("/sys/fs/cgroup", cgroup, "memory.events"),
	} {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), " ")
			if k == "oom_kill" {
				n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
				f.Close()
				return n > 0
			}
		}
		f.Close()
	}
	return false
}

func swapAccounting() bool {
	_, err := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	if err == nil {
		return true
	}
	_, err = os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

// TaskStats polls the task's cgroup metrics every interval.
func (d *Driver) TaskStats(ctx context.Context, taskID string, interval time.Duration) (<-chan *drivers.TaskResourceUsage, error) {
	t, err := d.get(taskID)
	if err != nil {
		return nil, err
	}
	if interval <= 0 {
		interval = time.Second
	}
	nctx := namespaces.WithNamespace(ctx, t.ns)
	ch := make(chan *drivers.TaskResourceUsage)
	go func() {
		defer close(ch)
		var prevCPU uint64
		var prevAt time.Time
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.done:
				return
			case <-tick.C:
			}
			u, cpu, err := t.sample(nctx)
			if err != nil {
				continue
			}
			now := time.Now()
			if !prevAt.IsZero() && cpu >= prevCPU {
				u.CPUPercent = 100 * float64(cpu-prevCPU) / float64(now.Sub(prevAt))
			}
			prevCPU, prevAt = cpu, now
			u.Timestamp = now.UnixNano()
			select {
			case ch <- u:
			case <-ctx.Done():
				return
			case <-t.done:
				return
			}
		}
	}()
	return ch, nil
}

// sample reads memory use and cumulative cpu nanoseconds.
func (t *task) sample(ctx context.Context) (*drivers.TaskResourceUsage, uint64, error) {
	m, err := t.ct.Metrics(ctx)
	if err != nil {
		return nil, 0, err
	}
	v, err := typeurl.UnmarshalAny(m.Data)
	if err != nil {
		return nil, 0, err
	}
	u := &drivers.TaskResourceUsage{}
	switch s := v.(type) {
	case *cgroupsv1.Metrics:
		if s.Memory != nil {
			u.MemoryRSS, u.MemoryCache = s.Memory.TotalRSS, s.Memory.TotalCache
			if s.Memory.Usage != nil {
				u.MemoryUsage, u.MemoryMaxUsage = s.Memory.Usage.Usage, s.Memory.Usage.Max
			}
		}
		if s.CPU != nil && s.CPU.Usage != nil {
			return u, s.CPU.Usage.Total, nil
		}
	case *cgroupsv2.Metrics:
		if s.Memory != nil {
			u.MemoryRSS, u.MemoryCache = s.Memory.Anon, s.Memory.File
			u.MemoryUsage, u.MemoryMaxUsage = s.Memory.Usage, s.Memory.MaxUsage
		}
		if s.CPU != nil {
			return u, s.CPU.UsageUsec * 1000, nil
		}
	default:
		return nil, 0, fmt.Errorf("unexpected metrics type %T", v)
	}
	return u, 0, nil
}

var execSeq struct {
	sync.Mutex
	n int
}

// ExecTask runs cmd in the task's container with the task's environment.
func (d *Driver) ExecTask(ctx context.Context, taskID string, cmd []string, timeout time.Duration) (*drivers.ExecTaskResult, error) {
	t, err := d.get(taskID)
	if err != nil {
		return nil, err
	}
	if len(cmd) == 0 {
		return nil, errors.New("exec: empty command")
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	ctx = namespaces.WithNamespace(ctx, t.ns)
	spec, err := t.ct.Spec(ctx)
	if err != nil {
		return nil, fmt.Errorf("exec: task spec: %w", err)
	}
	pspec := &specs.Process{Args: cmd, Env: spec.Process.Env, Cwd: spec.Process.Cwd, User: spec.Process.User}
	execSeq.Lock()
	execSeq.n++
	id := fmt.Sprintf("exec-%d-%d", os.Getpid(), execSeq.n)
	execSeq.Unlock()
	var stdout, stderr bytes.Buffer
	p, err := t.ct.Exec(ctx, id, pspec, cio.NewCreator(cio.WithStreams(nil, &stdout, &stderr)))
	if err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	defer func() {
		_, _ = p.Delete(namespaces.WithNamespace(context.WithoutCancel(ctx), t.ns), containerd.WithProcessKill)
	}()
	statusC, err := p.Wait(ctx)
	if err != nil {
		return nil, fmt.Errorf("exec wait: %w", err)
	}
	if err := p.Start(ctx); err != nil {
		return nil, fmt.Errorf("exec start: %w", err)
	}
	var st containerd.ExitStatus
	select {
	case st = <-statusC:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.IO().Wait()
	code, _, err := st.Result()
	if err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	return &drivers.ExecTaskResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitResult: &drivers.ExitResult{ExitCode: int(code)}}, nil
}
