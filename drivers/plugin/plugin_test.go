package plugin

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"go.uber.org/goleak"

	"github.com/nomadish/nomadish/drivers"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// recorder is a driver that records what it was called with; it exists to
// check the wire mapping, which needs no real tasks.
type recorder struct {
	mu      sync.Mutex
	started *drivers.TaskConfig
	stopped []any
	exit    chan *drivers.ExitResult
}

var _ drivers.DriverPlugin = (*recorder)(nil)

func (r *recorder) Name() string { return "recorder" }
func (r *recorder) ConfigSchema() *drivers.Schema {
	return &drivers.Schema{Fields: []*drivers.SchemaField{{Name: "enabled", Type: drivers.TypeBool}}}
}
func (r *recorder) TaskConfigSchema() *drivers.Schema {
	return &drivers.Schema{Fields: []*drivers.SchemaField{
		{Name: "command", Type: drivers.TypeString, Required: true},
		{Name: "mount", Type: drivers.TypeBlockList, Fields: []*drivers.SchemaField{{Name: "target", Type: drivers.TypeString}}},
	}}
}
func (r *recorder) SetConfig(context.Context, []byte) error { return nil }
func (r *recorder) Capabilities(context.Context) (*drivers.Capabilities, error) {
	return &drivers.Capabilities{SendSignals: true, FSIsolation: "chroot", NetIsolationModes: []string{"host", "group"}}, nil
}
func (r *recorder) Fingerprint(ctx context.Context) (<-chan *drivers.Fingerprint, error) {
	ch := make(chan *drivers.Fingerprint, 1)
	ch <- &drivers.Fingerprint{Health: drivers.HealthStateHealthy, Attributes: map[string]string{"driver.recorder": "1"}}
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch, nil
}
func (r *recorder) StartTask(_ context.Context, cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	r.mu.Lock()
	r.started = cfg
	r.mu.Unlock()
	return &drivers.TaskHandle{Version: 1, Config: cfg, State: drivers.TaskStateRunning, DriverState: []byte(`{"pid":1}`)}, nil
}
func (r *recorder) RecoverTask(context.Context, *drivers.TaskHandle) error { return nil }
func (r *recorder) WaitTask(_ context.Context, id string) (<-chan *drivers.ExitResult, error) {
	if id != "t1" {
		return nil, fmt.Errorf("%w: %s", drivers.ErrTaskNotFound, id)
	}
	return r.exit, nil
}
func (r *recorder) StopTask(_ context.Context, id string, timeout time.Duration, sig string) error {
	r.mu.Lock()
	r.stopped = []any{id, timeout, sig}
	r.mu.Unlock()
	return errors.New("stop refused")
}
func (r *recorder) DestroyTask(context.Context, string, bool) error { return nil }
func (r *recorder) InspectTask(_ context.Context, id string) (*drivers.TaskStatus, error) {
	return &drivers.TaskStatus{ID: id, State: drivers.TaskStateExited, StartedAt: time.Unix(10, 0), CompletedAt: time.Unix(20, 0),
		ExitResult: &drivers.ExitResult{ExitCode: 137, Signal: 9, OOMKilled: true}}, nil
}
func (r *recorder) TaskStats(ctx context.Context, _ string, interval time.Duration) (<-chan *drivers.TaskResourceUsage, error) {
	ch := make(chan *drivers.TaskResourceUsage)
	go func() {
		defer close(ch)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			select {
			case ch <- &drivers.TaskResourceUsage{Timestamp: 1, MemoryRSS: 42, Pids: map[string]*drivers.TaskResourceUsage{"7": {MemoryRSS: 42}}}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}
func (r *recorder) SignalTask(context.Context, string, string) error { return nil }
func (r *recorder) ExecTask(context.Context, string, []string, time.Duration) (*drivers.ExecTaskResult, error) {
	return &drivers.ExecTaskResult{Stdout: []byte("out"), ExitResult: &drivers.ExitResult{ExitCode: 2}}, nil
}
func (r *recorder) TaskEvents(ctx context.Context) (<-chan *drivers.TaskEvent, error) {
	ch := make(chan *drivers.TaskEvent)
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch, nil
}

func newPair(t *testing.T) (*recorder, drivers.DriverPlugin) {
	t.Helper()
	rec := &recorder{exit: make(chan *drivers.ExitResult, 1)}
	// Closing the client shuts the server down through go-plugin's
	// controller; stopping it here as well would race with that.
	client, _ := goplugin.TestPluginGRPCConn(t, false, PluginMap(rec))
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(PluginName)
	if err != nil {
		t.Fatalf("Dispense() = %v", err)
	}
	return rec, raw.(drivers.DriverPlugin)
}

func TestRoundTrip(t *testing.T) {
	rec, d := newPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if d.Name() != "recorder" || !reflect.DeepEqual(d.TaskConfigSchema(), rec.TaskConfigSchema()) {
		t.Fatalf("Name(), TaskConfigSchema() = %q, %+v, want the plugin's", d.Name(), d.TaskConfigSchema())
	}
	cfg := &drivers.TaskConfig{
		ID: "t1", Name: "web", Env: map[string]string{"A": "b"},
		Resources:    &drivers.Resources{CPUShares: 500, Cores: []uint16{1}, MemoryMB: 256, MemoryMaxMB: 512},
		DriverConfig: []byte(`{"command":"x"}`), KillSignal: "SIGTERM",
		Ports: []drivers.PortMapping{{Label: "http", Value: 20000, To: 8080, HostIP: "127.0.0.1"}},
	}
	h, err := d.StartTask(ctx, cfg)
	if err != nil {
		t.Fatalf("StartTask() = %v", err)
	}
	if !reflect.DeepEqual(rec.started, cfg) {
		t.Errorf("plugin got config %+v, want %+v", rec.started, cfg)
	}
	if string(h.DriverState) != `{"pid":1}` || !reflect.DeepEqual(h.Config, cfg) {
		t.Errorf("StartTask() handle = %+v, want driver state and config back", h)
	}

	err = d.StopTask(ctx, "t1", 3*time.Second, "SIGINT")
	if err == nil || err.Error() != "stop refused" {
		t.Errorf("StopTask() = %v, want \"stop refused\"", err)
	}
	if want := []any{"t1", 3 * time.Second, "SIGINT"}; !reflect.DeepEqual(rec.stopped, want) {
		t.Errorf("plugin got stop %v, want %v", rec.stopped, want)
	}

	st, err := d.InspectTask(ctx, "t1")
	if err != nil || !st.ExitResult.OOMKilled || st.ExitResult.Signal != 9 || !st.CompletedAt.Equal(time.Unix(20, 0)) {
		t.Errorf("InspectTask() = %+v, %v", st, err)
	}
	res, err := d.ExecTask(ctx, "t1", []string{"true"}, time.Second)
	if err != nil || string(res.Stdout) != "out" || res.ExitResult.ExitCode != 2 {
		t.Errorf("ExecTask() = %+v, %v", res, err)
	}
}

func TestWaitTaskReturnsBeforeExit(t *testing.T) {
	rec, d := newPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if _, err := d.WaitTask(ctx, "missing"); !errors.Is(err, drivers.ErrTaskNotFound) {
		t.Fatalf("WaitTask(missing) = %v, want ErrTaskNotFound", err)
	}
	ch, err := d.WaitTask(ctx, "t1")
	if err != nil {
		t.Fatalf("WaitTask(t1) = %v, want nil before the task exits", err)
	}
	rec.exit <- &drivers.ExitResult{ExitCode: 3}
	if res := <-ch; res == nil || res.ExitCode != 3 {
		t.Fatalf("WaitTask(t1) result = %+v, want code 3", res)
	}

	// A cancelled wait closes its channel without a result.
	wctx, wcancel := context.WithCancel(ctx)
	ch, err = d.WaitTask(wctx, "t1")
	if err != nil {
		t.Fatalf("WaitTask() = %v", err)
	}
	wcancel()
	if res, ok := <-ch; ok {
		t.Fatalf("cancelled WaitTask() = %+v, want closed channel", res)
	}
}

func TestStreamsStopWithContext(t *testing.T) {
	_, d := newPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	fp, err := d.Fingerprint(ctx)
	if err != nil {
		t.Fatalf("Fingerprint() = %v", err)
	}
	if f := <-fp; f.Attributes["driver.recorder"] != "1" {
		t.Fatalf("Fingerprint() = %+v", f)
	}
	stats, err := d.TaskStats(ctx, "t1", 10*time.Millisecond)
	if err != nil {
		t.Fatalf("TaskStats() = %v", err)
	}
	if u := <-stats; u.MemoryRSS != 42 || u.Pids["7"].MemoryRSS != 42 {
		t.Fatalf("TaskStats() = %+v", u)
	}
	events, err := d.TaskEvents(ctx)
	if err != nil {
		t.Fatalf("TaskEvents() = %v", err)
	}
	cancel()
	for range fp {
	}
	for range stats {
	}
	for range events {
	}
}
