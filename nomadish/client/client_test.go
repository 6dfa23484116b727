package client

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/catalog"
	"github.com/nomadish/nomadish/nomadish/client/internal/testdriver"
	"github.com/nomadish/nomadish/nomadish/structs"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	catalog.MaybeServe()
	goleak.VerifyTestMain(m)
}

type testEnv struct {
	t       *testing.T
	dataDir string
	server  *fakeServer
	driver  *testdriver.Driver
}

func newTestEnv(t *testing.T) *testEnv {
	e := &testEnv{t: t, dataDir: t.TempDir(), server: newFakeServer(), driver: testdriver.New()}
	t.Cleanup(e.driver.KillAll)
	return e
}

func (e *testEnv) config() *Config {
	cfg := DefaultConfig()
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: testWriter{e.t}})
	cfg.DataDir = e.dataDir
	cfg.Name = "test-node"
	cfg.Meta = map[string]string{"rack": "r1"}
	cfg.NodeClass = "cls"
	cfg.Drivers = []string{testdriver.Name}
	cfg.DriverConfig = map[string]map[string]interface{}{testdriver.Name: {"enabled": true}}
	cfg.DriverLoader = func(ctx context.Context, name string) (drivers.DriverPlugin, error) {
		if name != testdriver.Name {
			return nil, errors.New("no such driver")
		}
		return e.driver, nil
	}
	cfg.RPC = e.server
	return cfg
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (e *testEnv) start(cfg *Config) *Client {
	e.t.Helper()
	c, err := NewClient(cfg)
	if err != nil {
		e.t.Fatalf("NewClient() error = %v", err)
	}
	if err := c.Start(); err != nil {
		e.t.Fatalf("Start() error = %v", err)
	}
	e.t.Cleanup(func() { c.Shutdown() })
	return c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func shAlloc(nodeID, jobType, script string) *structs.Allocation {
	task := &structs.Task{Name: "web", Driver: testdriver.Name, KillTimeout: time.Second,
		Config: map[string]interface{}{"command": "/bin/sh", "args": []interface{}{"-c", script}}}
	tg := &structs.TaskGroup{Name: "g", Tasks: []*structs.Task{task},
		RestartPolicy: &structs.RestartPolicy{Attempts: 0, Interval: time.Minute, Mode: structs.RestartPolicyModeFail}}
	job := &structs.Job{ID: "j", Name: "j", Type: jobType, TaskGroups: []*structs.TaskGroup{tg}}
	return &structs.Allocation{ID: structs.GenerateUUID(), Name: "j.g[0]", Namespace: "default", NodeID: nodeID, JobID: "j",
		TaskGroup: "g", Job: job, DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending}
}

func (e *testEnv) status(id string) string {
	if a := e.server.alloc(id); a != nil {
		return a.ClientStatus
	}
	return ""
}

func TestClientRegistersWithFingerprint(t *testing.T) {
	e := newTestEnv(t)
	e.server.ttl = 100 * time.Millisecond
	c := e.start(e.config())
	waitFor(t, "registration", func() bool { return e.server.node(c.NodeID()) != nil })
	n := e.server.node(c.NodeID())
	for k, want := range map[string]string{"driver." + testdriver.Name: "1", "driver.test_exec.version": "1", "kernel.name": "linux", "nomad.version": "1.9.0"} {
		if got := n.Attributes[k]; got != want {
			t.Errorf("Attributes[%s] = %q, want %q", k, got, want)
		}
	}
	// Bridge-capable clients say so; the scheduler places bridge and none
	// groups only on them.
	wantBridge := ""
	if c.network.Usable() == nil {
		wantBridge = "true"
	}
	if got := n.Attributes[structs.NodeAttrNetworkBridge]; got != wantBridge {
		t.Errorf("Attributes[%s] = %q, want %q (Usable() = %v)", structs.NodeAttrNetworkBridge, got, wantBridge, c.network.Usable())
	}
	if n.Name != "test-node" || n.NodeClass != "cls" || n.Meta["rack"] != "r1" || n.Datacenter != "dc1" || n.NodePool != "default" {
		t.Errorf("node identity = %s/%s/%v/%s/%s, want test-node/cls/rack=r1/dc1/default", n.Name, n.NodeClass, n.Meta, n.Datacenter, n.NodePool)
	}
	if d := n.Drivers[testdriver.Name]; d == nil || !d.Healthy || !d.Detected {
		t.Errorf("Drivers[%s] = %+v, want healthy and detected", testdriver.Name, d)
	}
	if n.NodeResources.Cpu.CpuShares <= 0 || n.NodeResources.Memory.MemoryMB <= 0 {
		t.Errorf("NodeResources = %+v, want cpu and memory", n.NodeResources)
	}
	waitFor(t, "heartbeats", func() bool { _, hb, _ := e.server.counts(); return hb >= 3 })
	if n := e.server.node(c.NodeID()); n.Status != structs.NodeStatusReady {
		t.Errorf("node status = %s, want ready", n.Status)
	}
}

func TestClientNodeIDPersists(t *testing.T) {
	e := newTestEnv(t)
	c1, err := NewClient(e.config())
	if err != nil {
		t.Fatalf("NewClient() error = %v", err)
	}
	id := c1.NodeID()
	c1.Shutdown()
	c2, err := NewClient(e.config())
	if err != nil {
		t.Fatalf("NewClient() error = %v", err)
	}
	defer c2.Shutdown()
	if c2.NodeID() != id {
		t.Errorf("NodeID() after restart = %s, want %s", c2.NodeID(), id)
	}
}

func TestClientConfigOverrides(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.config()
	cfg.CPUTotalCompute = 4321
	cfg.MemoryTotalMB = 2048
	cfg.Reserved = &structs.NodeReservedResources{Cpu: structs.NodeReservedCpuResources{CpuShares: 100}}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient() error = %v", err)
	}
	defer c.Shutdown()
	n := c.Node()
	if n.NodeResources.Cpu.CpuShares != 4321 || n.NodeResources.Memory.MemoryMB != 2048 || n.Attributes["cpu.totalcompute"] != "4321" {
		t.Errorf("resources = %+v attr %s, want cpu 4321 and memory 2048", n.NodeResources, n.Attributes["cpu.totalcompute"])
	}
	if n.ReservedResources.Cpu.CpuShares != 100 {
		t.Errorf("reserved cpu = %d, want 100", n.ReservedResources.Cpu.CpuShares)
	}
}

func TestConfigValidate(t *testing.T) {
	err := (&Config{CPUTotalCompute: -1, Drivers: []string{"x"}}).Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want errors")
	}
	for _, want := range []string{"data_dir", "RPC", "driver loader", "cpu_total_compute"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %q, want it to mention %s", err, want)
		}
	}
}

func TestClientRunsAndStopsAlloc(t *testing.T) {
	e := newTestEnv(t)
	c := e.start(e.config())
	waitFor(t, "registration", func() bool { return e.server.node(c.NodeID()) != nil })

	a := shAlloc(c.NodeID(), structs.JobTypeService, "echo started; sleep 60")
	submitted := time.Now()
	e.server.upsertAlloc(a)
	waitFor(t, "running", func() bool { return e.status(a.ID) == structs.AllocClientStatusRunning })
	e.server.mu.Lock()
	latency := e.server.firstRunning[a.ID].Sub(submitted)
	e.server.mu.Unlock()
	t.Logf("submit to running reported: %v", latency)
	if latency > 500*time.Millisecond {
		t.Errorf("submit to running took %v, want well under 500ms", latency)
	}

	e.driver.Emit(&drivers.TaskEvent{AllocID: a.ID, TaskName: "web", Message: "pulled image", Annotations: map[string]string{"image": "x"}})
	waitFor(t, "driver event", func() bool {
		for _, ev := range c.runner(a.ID).TaskState("web").Events {
			if ev.Type == structs.TaskDriverMessage && ev.DriverMessage == "pulled image" && ev.Details["image"] == "x" {
				return true
			}
		}
		return false
	})

	dir, err := c.AllocDir(a.ID)
	if err != nil || dir != filepath.Join(e.dataDir, "alloc", a.ID) {
		t.Errorf("AllocDir() = %s, %v, want %s", dir, err, filepath.Join(e.dataDir, "alloc", a.ID))
	}
	if _, err := c.AllocDir("nope"); !errors.Is(err, ErrUnknownAlloc) {
		t.Errorf("AllocDir(nope) error = %v, want ErrUnknownAlloc", err)
	}

	stop := e.server.alloc(a.ID)
	stop.DesiredStatus = structs.AllocDesiredStatusStop
	e.server.upsertAlloc(stop)
	waitFor(t, "complete", func() bool { return e.status(a.ID) == structs.AllocClientStatusComplete })
	ts := e.server.alloc(a.ID).TaskStates["web"]
	if ts.State != structs.TaskStateDead || ts.Failed {
		t.Errorf("task state = %s failed=%v, want dead, not failed", ts.State, ts.Failed)
	}

	e.server.deleteAlloc(a.ID)
	waitFor(t, "alloc dir removed", func() bool {
		_, err := os.Stat(dir)
		return os.IsNotExist(err)
	})
	if c.NumAllocs() != 0 {
		t.Errorf("NumAllocs() = %d after GC, want 0", c.NumAllocs())
	}
}

func TestClientBatchFailure(t *testing.T) {
	e := newTestEnv(t)
	c := e.start(e.config())
	waitFor(t, "registration", func() bool { return e.server.node(c.NodeID()) != nil })
	a := shAlloc(c.NodeID(), structs.JobTypeBatch, "exit 2")
	e.server.upsertAlloc(a)
	waitFor(t, "failed", func() bool { return e.status(a.ID) == structs.AllocClientStatusFailed })
}

func TestClientRegisterRetriesWhileServersDown(t *testing.T) {
	e := newTestEnv(t)
	e.server.setDown(true)
	c := e.start(e.config())
	time.Sleep(300 * time.Millisecond)
	if e.server.node(c.NodeID()) != nil {
		t.Fatal("registered while the servers were down")
	}
	e.server.setDown(false)
	waitFor(t, "registration", func() bool { return e.server.node(c.NodeID()) != nil })
}

func TestClientReregistersWhenForgotten(t *testing.T) {
	e := newTestEnv(t)
	e.server.ttl = 50 * time.Millisecond
	c := e.start(e.config())
	waitFor(t, "registration", func() bool { return e.server.node(c.NodeID()) != nil })
	e.server.forgetNodes()
	waitFor(t, "re-registration", func() bool { return e.server.node(c.NodeID()) != nil })
	if r, _, _ := e.server.counts(); r < 2 {
		t.Errorf("registers = %d, want at least 2", r)
	}
}

func TestClientRestartRecoversTasks(t *testing.T) {
	e := newTestEnv(t)
	c1, err := NewClient(e.config())
	if err != nil {
		t.Fatalf("NewClient() error = %v", err)
	}
	if err := c1.Start(); err != nil {
		t.Fatalf("Start() error = %v", err)
	}
	waitFor(t, "registration", func() bool { return e.server.node(c1.NodeID()) != nil })
	a := shAlloc(c1.NodeID(), structs.JobTypeService, "sleep 60")
	e.server.upsertAlloc(a)
	waitFor(t, "running", func() bool { return e.status(a.ID) == structs.AllocClientStatusRunning })
	if err := c1.Shutdown(); err != nil {
		t.Fatalf("Shutdown() error = %v", err)
	}

	// Servers unreachable across the restart: the task must be recovered anyway.
	e.server.setDown(true)
	cfg := e.config()
	cfg.DevMode = true
	c2 := e.start(cfg)
	if c2.NodeID() != c1.NodeID() {
		t.Fatalf("NodeID changed across restart: %s != %s", c2.NodeID(), c1.NodeID())
	}
	waitFor(t, "recovered", func() bool { _, r := e.driver.Counts(); return r == 1 })
	if started, _ := e.driver.Counts(); started != 1 {
		t.Errorf("tasks started = %d, want 1 (recovered, not restarted)", started)
	}
	got, err := c2.Alloc(a.ID)
	if err != nil || got.ClientStatus != structs.AllocClientStatusRunning {
		t.Fatalf("Alloc() = %v, %v; want running", got, err)
	}
	e.server.setDown(false)
	if err := c2.Shutdown(); err != nil {
		t.Fatalf("Shutdown() error = %v", err)
	}
	if ts := e.server.alloc(a.ID).TaskStates["web"]; ts == nil || ts.State != structs.TaskStateDead {
		t.Errorf("after DevMode shutdown task state = %+v, want dead", ts)
	}
}

func TestLogReader(t *testing.T) {
	e := newTestEnv(t)
	c := e.start(e.config())
	waitFor(t, "registration", func() bool { return e.server.node(c.NodeID()) != nil })
	a := shAlloc(c.NodeID(), structs.JobTypeBatch, "echo one; echo two; sleep 0.3; echo three; echo err >&2")
	e.server.upsertAlloc(a)
	waitFor(t, "running", func() bool { return e.status(a.ID) != structs.AllocClientStatusPending && e.status(a.ID) != "" })

	ctx := context.Background()
	r, err := c.LogReader(ctx, LogRequest{AllocID: a.ID, Task: "web", Type: "stdout", Follow: true})
	if err != nil {
		t.Fatalf("LogReader() error = %v", err)
	}
	all, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(all) != "one\ntwo\nthree\n" {
		t.Errorf("follow read = %q, %v, want one two three", all, err)
	}

	r, _ = c.LogReader(ctx, LogRequest{AllocID: a.ID, Task: "web", Type: "stdout", Origin: OriginEnd, Offset: 6})
	tail, _ := io.ReadAll(r)
	r.Close()
	if string(tail) != "three\n" {
		t.Errorf("origin end offset 6 = %q, want %q", tail, "three\n")
	}
	r, _ = c.LogReader(ctx, LogRequest{AllocID: a.ID, Task: "web", Type: "stderr", Offset: 1})
	errOut, _ := io.ReadAll(r)
	r.Close()
	if string(errOut) != "rr\n" {
		t.Errorf("stderr from offset 1 = %q, want %q", errOut, "rr\n")
	}

	for _, tc := range []struct {
		name string
		req  LogRequest
		want error
	}{
		{"unknown alloc", LogRequest{AllocID: "x", Task: "web", Type: "stdout"}, ErrUnknownAlloc},
		{"unknown task", LogRequest{AllocID: a.ID, Task: "nope", Type: "stdout"}, ErrUnknownTask},
		{"bad type", LogRequest{AllocID: a.ID, Task: "web", Type: "stdin"}, ErrBadLogRequest},
		{"bad origin", LogRequest{AllocID: a.ID, Task: "web", Type: "stdout", Origin: "middle"}, ErrBadLogRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.LogReader(ctx, tc.req); !errors.Is(err, tc.want) {
				t.Errorf("LogReader() error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestLogReaderFollowStopsOnCancel(t *testing.T) {
	e := newTestEnv(t)
	c := e.start(e.config())
	waitFor(t, "registration", func() bool { return e.server.node(c.NodeID()) != nil })
	a := shAlloc(c.NodeID(), structs.JobTypeService, "echo hello; sleep 60")
	e.server.upsertAlloc(a)
	waitFor(t, "running", func() bool { return e.status(a.ID) == structs.AllocClientStatusRunning })
	ctx, cancel := context.WithCancel(context.Background())
	r, err := c.LogReader(ctx, LogRequest{AllocID: a.ID, Task: "web", Type: "stdout", Follow: true})
	if err != nil {
		t.Fatalf("LogReader() error = %v", err)
	}
	defer r.Close()
	buf := make([]byte, 64)
	n, _ := r.Read(buf)
	for n == 0 {
		n, _ = r.Read(buf)
	}
	if string(buf[:n]) != "hello\n" {
		t.Errorf("Read() = %q, want hello", buf[:n])
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		cancel()
	}()
	if _, err := r.Read(buf); err != io.EOF {
		t.Errorf("Read() after cancel error = %v, want io.EOF", err)
	}
}

func TestClientStartDoesNotWaitForSlowDrivers(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.config()
	cfg.Drivers = []string{testdriver.Name, "hangs"}
	cfg.DriverFingerprintTimeout = 200 * time.Millisecond
	cfg.DriverLoader = func(ctx context.Context, name string) (drivers.DriverPlugin, error) {
		if name == testdriver.Name {
			return e.driver, nil
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}
	t0 := time.Now()
	c := e.start(cfg)
	if d := time.Since(t0); d > 100*time.Millisecond {
		t.Errorf("Start() took %v, want it not to wait for drivers", d)
	}
	waitFor(t, "registration", func() bool { return e.server.node(c.NodeID()) != nil })
	if n := e.server.node(c.NodeID()); n.Attributes["driver."+testdriver.Name] != "1" {
		t.Errorf("registered without the healthy driver's attributes")
	}
}

func TestClientKeepsRunningWhileServersDown(t *testing.T) {
	e := newTestEnv(t)
	e.server.ttl = 100 * time.Millisecond
	c := e.start(e.config())
	waitFor(t, "registration", func() bool { return e.server.node(c.NodeID()) != nil })
	a := shAlloc(c.NodeID(), structs.JobTypeBatch, "sleep 0.5")
	e.server.upsertAlloc(a)
	waitFor(t, "running", func() bool { return e.status(a.ID) == structs.AllocClientStatusRunning })

	e.server.setDown(true)
	ar := c.runner(a.ID)
	waitFor(t, "task done locally", func() bool { return ar.Alloc().ClientStatus == structs.AllocClientStatusComplete })
	if st := e.status(a.ID); st != structs.AllocClientStatusRunning {
		t.Fatalf("server saw %s while down, want it still at running", st)
	}
	e.server.setDown(false)
	waitFor(t, "complete delivered", func() bool { return e.status(a.ID) == structs.AllocClientStatusComplete })
}

// plainRPC hides RPCContext, as an RPCer that cannot abandon calls.
type plainRPC struct{ s *fakeServer }

func (p plainRPC) RPC(method string, args, reply interface{}) error {
	return p.s.RPC(method, args, reply)
}

func TestClientWithPlainRPCer(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.config()
	cfg.RPC = plainRPC{e.server}
	cfg.MaxQueryTime = 200 * time.Millisecond
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient() error = %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("Start() error = %v", err)
	}
	waitFor(t, "registration", func() bool { return e.server.node(c.NodeID()) != nil })
	a := shAlloc(c.NodeID(), structs.JobTypeBatch, "true")
	e.server.upsertAlloc(a)
	waitFor(t, "complete", func() bool { return e.status(a.ID) == structs.AllocClientStatusComplete })
	t0 := time.Now()
	if err := c.Shutdown(); err != nil {
		t.Fatalf("Shutdown() error = %v", err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("Shutdown() took %v, want at most about MaxQueryTime", d)
	}
}
