// Package mock is mock_driver: tasks are timers inside the plugin, not
// processes, with configurable run time, exit, output and failures. It is
// for tests and simulations of many tasks, and is not listed among the
// built-in drivers; catalog.Launch still starts it by name.
package mock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/executor"
)

// Name is the driver's name in job files.
const Name = "mock_driver"

const handleVersion = 1

// TaskConfig is the task's config block. Durations are Go duration strings.
type TaskConfig struct {
	// StartError fails StartTask with this message.
	StartError string `json:"start_error"`
	// StartBlockFor delays StartTask.
	StartBlockFor string `json:"start_block_for"`
	// RunFor is how long the task runs before exiting; empty runs until stopped.
	RunFor string `json:"run_for"`
	// ExitCode, ExitSignal and ExitErrMsg describe the exit after RunFor.
	ExitCode   int    `json:"exit_code"`
	ExitSignal int    `json:"exit_signal"`
	ExitErrMsg string `json:"exit_err_msg"`
	// KillAfter is how long the task ignores StopTask's signal; a kill
	// after the stop timeout still ends it.
	KillAfter string `json:"kill_after"`
	// SignalError fails SignalTask with this message.
	SignalError string `json:"signal_error"`
	// StdoutString is written to stdout StdoutRepeat times, every
	// StdoutRepeatDuration.
	StdoutString         string `json:"stdout_string"`
	StdoutRepeat         int    `json:"stdout_repeat"`
	StdoutRepeatDuration string `json:"stdout_repeat_duration"`
}

// TaskConfigSchema is the task config schema.
func TaskConfigSchema() *drivers.Schema {
	var fields []*drivers.SchemaField
	for _, n := range []string{"start_error", "start_block_for", "run_for", "exit_err_msg", "kill_after", "signal_error", "stdout_string", "stdout_repeat_duration"} {
		fields = append(fields, &drivers.SchemaField{Name: n, Type: drivers.TypeString})
	}
	for _, n := range []string{"exit_code", "exit_signal", "stdout_repeat"} {
		fields = append(fields, &drivers.SchemaField{Name: n, Type: drivers.TypeNumber})
	}
	return &drivers.Schema{Fields: fields}
}

type parsed struct {
	TaskConfig
	startBlock, runFor, killAfter, repeatEvery time.Duration
}

func decode(raw []byte) (*parsed, error) {
	var p parsed
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p.TaskConfig); err != nil {
		return nil, fmt.Errorf("task config: %w", err)
	}
	var errs []error
	for _, f := range []struct {
		name string
		s    string
		d    *time.Duration
	}{
		{"start_block_for", p.StartBlockFor, &p.startBlock},
		{"run_for", p.RunFor, &p.runFor},
		{"kill_after", p.KillAfter, &p.killAfter},
		{"stdout_repeat_duration", p.StdoutRepeatDuration, &p.repeatEvery},
	} {
		if f.s == "" {
			continue
		}
		d, err := time.ParseDuration(f.s)
		if err != nil {
			errs = append(errs, fmt.Errorf("config.%s: %w", f.name, err))
		}
		*f.d = d
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("task config: %w", err)
	}
	return &p, nil
}

// Driver is mock_driver.
type Driver struct {
	logger hclog.Logger

	mu    sync.Mutex
	tasks map[string]*task
}

var _ drivers.DriverPlugin = (*Driver)(nil)

// New returns the driver.
func New(logger hclog.Logger) *Driver {
	return &Driver{logger: logger.Named(Name), tasks: map[string]*task{}}
}

func (d *Driver) Name() string                            { return Name }
func (d *Driver) ConfigSchema() *drivers.Schema           { return &drivers.Schema{} }
func (d *Driver) TaskConfigSchema() *drivers.Schema       { return TaskConfigSchema() }
func (d *Driver) SetConfig(context.Context, []byte) error { return nil }
func (d *Driver) TaskEvents(ctx context.Context) (<-chan *drivers.TaskEvent, error) {
	ch := make(chan *drivers.TaskEvent)
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch, nil
}

func (d *Driver) Capabilities(context.Context) (*drivers.Capabilities, error) {
	return &drivers.Capabilities{SendSignals: true, Exec: true, FSIsolation: "none", NetIsolationModes: []string{"host", "group"}}, nil
}

// Fingerprint reports healthy once; the channel stays open until ctx is done.
func (d *Driver) Fingerprint(ctx context.Context) (<-chan *drivers.Fingerprint, error) {
	ch := make(chan *drivers.Fingerprint, 1)
	ch <- &drivers.Fingerprint{Health: drivers.HealthStateHealthy, HealthDescription: "healthy", Attributes: map[string]string{"driver.mock_driver": "1"}}
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch, nil
}

// mockState is the handle's DriverState.
type mockState struct {
	StartedAt time.Time `json:"started_at"`
}

func (d *Driver) StartTask(ctx context.Context, cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	p, err := decode(cfg.DriverConfig)
	if err != nil {
		return nil, err
	}
	if p.startBlock > 0 {
		select {
		case <-time.After(p.startBlock):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if p.StartError != "" {
		return nil, errors.New(p.StartError)
	}
	st := mockState{StartedAt: time.Now()}
	if err := d.run(cfg, p, st); err != nil {
		return nil, err
	}
	raw, _ := json.Marshal(st)
	return &drivers.TaskHandle{Version: handleVersion, Config: cfg, State: drivers.TaskStateRunning, DriverState: raw}, nil
}

func (d *Driver) run(cfg *drivers.TaskConfig, p *parsed, st mockState) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.tasks[cfg.ID]; ok {
		return fmt.Errorf("task %s already started", cfg.ID)
	}
	d.tasks[cfg.ID] = startTask(cfg, p, st)
	return nil
}

// RecoverTask restarts the timer for the time the task has left to run.
func (d *Driver) RecoverTask(_ context.Context, h *drivers.TaskHandle) error {
	if h == nil || h.Config == nil {
		return errors.New("recover task: handle without config")
	}
	d.mu.Lock()
	_, ok := d.tasks[h.Config.ID]
	d.mu.Unlock()
	if ok {
		return nil
	}
	p, err := decode(h.Config.DriverConfig)
	if err != nil {
		return err
	}
	var st mockState
	if err := json.Unmarshal(h.DriverState, &st); err != nil {
		return fmt.Errorf("recover task: %w", err)
	}
	return d.run(h.Config, p, st)
}

func (d *Driver) get(id string) (*task, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.tasks[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", drivers.ErrTaskNotFound, id)
	}
	return t, nil
}

func (d *Driver) WaitTask(ctx context.Context, id string) (<-chan *drivers.ExitResult, error) {
	t, err := d.get(id)
	if err != nil {
		return nil, err
	}
	return drivers.WaitChannel(ctx, t.done, t.destroyed, func() *drivers.ExitResult { return t.result }), nil
}

func (d *Driver) StopTask(ctx context.Context, id string, timeout time.Duration, signal string) error {
	t, err := d.get(id)
	if err != nil {
		return err
	}
	if signal == "" {
		signal = executor.DefaultKillSignal
	}
	sig, err := executor.ParseSignal(signal)
	if err != nil {
		return err
	}
	t.signal(int(sig), true)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
	}
	t.kill()
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *Driver) DestroyTask(_ context.Context, id string, force bool) error {
	t, err := d.get(id)
	if err != nil {
		return err
	}
	if t.running() {
		if !force {
			return fmt.Errorf("task %s is still running", id)
		}
		t.kill()
		<-t.done
	}
	close(t.destroyed)
	d.mu.Lock()
	delete(d.tasks, id)
	d.mu.Unlock()
	return nil
}

func (d *Driver) InspectTask(_ context.Context, id string) (*drivers.TaskStatus, error) {
	t, err := d.get(id)
	if err != nil {
		return nil, err
	}
	st := &drivers.TaskStatus{ID: id, Name: t.cfg.Name, State: drivers.TaskStateRunning, StartedAt: t.startedAt}
	if !t.running() {
		st.State, st.ExitResult, st.CompletedAt = drivers.TaskStateExited, t.result, t.completedAt
	}
	return st, nil
}

func (d *Driver) TaskStats(ctx context.Context, id string, interval time.Duration) (<-chan *drivers.TaskResourceUsage, error) {
	t, err := d.get(id)
	if err != nil {
		return nil, err
	}
	if interval <= 0 {
		interval = time.Second
	}
	ch := make(chan *drivers.TaskResourceUsage)
	go func() {
		defer close(ch)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.done:
				return
			case now := <-tick.C:
				select {
				case ch <- &drivers.TaskResourceUsage{Timestamp: now.UnixNano(), MemoryRSS: 1 << 20, MemoryUsage: 1 << 20}:
				case <-ctx.Done():
					return
				case <-t.done:
					return
				}
			}
		}
	}()
	return ch, nil
}

func (d *Driver) SignalTask(_ context.Context, id string, signal string) error {
	t, err := d.get(id)
	if err != nil {
		return err
	}
	if t.p.SignalError != "" {
		return errors.New(t.p.SignalError)
	}
	sig, err := executor.ParseSignal(signal)
	if err != nil {
		return err
	}
	t.signal(int(sig), false)
	return nil
}

// ExecTask echoes the command back.
func (d *Driver) ExecTask(_ context.Context, id string, cmd []string, _ time.Duration) (*drivers.ExecTaskResult, error) {
	if _, err := d.get(id); err != nil {
		return nil, err
	}
	return &drivers.ExecTaskResult{Stdout: []byte(strings.Join(cmd, " ") + "\n"), ExitResult: &drivers.ExitResult{}}, nil
}

// task is one simulated task; its goroutine ends when the task exits.
type task struct {
	cfg       *drivers.TaskConfig
	p         *parsed
	startedAt time.Time

	signals   chan stopSignal
	done      chan struct{}
	destroyed chan struct{}
	// result and completedAt are written before done is closed.
	result      *drivers.ExitResult
	completedAt time.Time
}

type stopSignal struct {
	sig  int
	stop bool
	kill bool
}

func startTask(cfg *drivers.TaskConfig, p *parsed, st mockState) *task {
	t := &task{cfg: cfg, p: p, startedAt: st.StartedAt, signals: make(chan stopSignal), done: make(chan struct{}), destroyed: make(chan struct{})}
	go t.loop()
	return t
}

func (t *task) running() bool {
	select {
	case <-t.done:
		return false
	default:
		return true
	}
}

func (t *task) signal(sig int, stop bool) {
	select {
	case t.signals <- stopSignal{sig: sig, stop: stop}:
	case <-t.done:
	}
}

func (t *task) kill() {
	select {
	case t.signals <- stopSignal{sig: 9, kill: true}:
	case <-t.done:
	}
}

func (t *task) loop() {
	defer close(t.done)
	var out *os.File
	if t.p.StdoutString != "" && t.cfg.StdoutPath != "" {
		out, _ = os.OpenFile(t.cfg.StdoutPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	}
	if out != nil {
		defer out.Close()
	}
	var runC <-chan time.Time
	if t.p.RunFor != "" {
		timer := time.NewTimer(time.Until(t.startedAt.Add(t.p.runFor)))
		defer timer.Stop()
		runC = timer.C
	}
	writes := 0
	var repeatC <-chan time.Time
	if out != nil {
		fmt.Fprint(out, t.p.StdoutString)
		writes++
		if t.p.StdoutRepeat > 0 && t.p.repeatEvery > 0 {
			tick := time.NewTicker(t.p.repeatEvery)
			defer tick.Stop()
			repeatC = tick.C
		}
	}
	var (
		killC   <-chan time.Time
		stopSig int
	)
	for {
		select {
		case <-runC:
			t.finish(&drivers.ExitResult{ExitCode: t.p.ExitCode, Signal: t.p.ExitSignal, Err: t.p.ExitErrMsg})
			return
		case <-repeatC:
			if writes <= t.p.StdoutRepeat {
				fmt.Fprint(out, t.p.StdoutString)
				writes++
			}
		case <-killC:
			t.finish(&drivers.ExitResult{ExitCode: 128 + stopSig, Signal: stopSig})
			return
		case s := <-t.signals:
			switch {
			case s.kill:
				t.finish(&drivers.ExitResult{ExitCode: 128 + 9, Signal: 9})
				return
			case s.stop && t.p.killAfter > 0:
				if killC == nil {
					stopSig = s.sig
					timer := time.NewTimer(t.p.killAfter)
					defer timer.Stop()
					killC = timer.C
				}
			case s.stop:
				t.finish(&drivers.ExitResult{ExitCode: 128 + s.sig, Signal: s.sig})
				return
			}
		}
	}
}

func (t *task) finish(res *drivers.ExitResult) {
	t.result, t.completedAt = res, time.Now()
}
