package allocrunner

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/nomadish/client/internal/testdriver"
	"github.com/nomadish/nomadish/nomadish/client/state"
	"github.com/nomadish/nomadish/nomadish/structs"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type oneDriver struct{ d drivers.DriverPlugin }

func (o oneDriver) Driver(ctx context.Context, name string) (drivers.DriverPlugin, error) {
	return o.d, nil
}

type recorder struct {
	mu      sync.Mutex
	updates []*structs.Allocation
}

func (r *recorder) add(a *structs.Allocation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updates = append(r.updates, a)
}

func (r *recorder) last() *structs.Allocation {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.updates) == 0 {
		return nil
	}
	return r.updates[len(r.updates)-1]
}

func (r *recorder) statuses() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, u := range r.updates {
		if len(out) == 0 || out[len(out)-1] != u.ClientStatus {
			out = append(out, u.ClientStatus)
		}
	}
	return out
}

type harness struct {
	t      *testing.T
	root   string
	store  *state.Store
	driver *testdriver.Driver
	rec    *recorder
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	st, err := state.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatalf("state.Open() error = %v", err)
	}
	h := &harness{t: t, root: filepath.Join(dir, "alloc"), store: st, driver: testdriver.New(), rec: &recorder{}}
	t.Cleanup(func() {
		h.driver.KillAll()
		st.Close()
	})
	return h
}

func (h *harness) runner(a *structs.Allocation, restore bool) *AllocRunner {
	h.t.Helper()
	ar, err := New(&Config{
		Logger:    hclog.NewNullLogger(),
		Alloc:     a,
		Node:      func() *structs.Node { return &structs.Node{ID: "node1", Datacenter: "dc1"} },
		Region:    "global",
		AllocRoot: h.root,
		Drivers:   oneDriver{h.driver},
		State:     h.store,
		OnUpdate:  h.rec.add,
		Restore:   restore,
	})
	if err != nil {
		h.t.Fatalf("New() error = %v", err)
	}
	return ar
}

func start(t *testing.T, ar *AllocRunner) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	go ar.Run(ctx)
	t.Cleanup(func() {
		cancel()
		<-ar.WaitCh()
	})
	return cancel
}

func sh(script string) map[string]interface{} {
	return map[string]interface{}{"command": "/bin/sh", "args": []interface{}{"-c", script}}
}

func testAlloc(jobType string, tasks ...*structs.Task) *structs.Allocation {
	for _, t := range tasks {
		if t.Driver == "" {
			t.Driver = testdriver.Name
		}
	}
	tg := &structs.TaskGroup{Name: "g", Tasks: tasks,
		RestartPolicy: &structs.RestartPolicy{Attempts: 0, Interval: time.Minute, Mode: structs.RestartPolicyModeFail}}
	job := &structs.Job{ID: "j", Name: "j", Type: jobType, TaskGroups: []*structs.TaskGroup{tg}}
	return &structs.Allocation{ID: structs.GenerateUUID(), Name: "j.g[0]", Namespace: "default", JobID: "j", TaskGroup: "g",
		Job: job, DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending}
}

// waitFor polls cond until it is true or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitDone(t *testing.T, ar *AllocRunner) {
	t.Helper()
	select {
	case <-ar.WaitCh():
	case <-time.After(15 * time.Second):
		t.Fatalf("alloc runner did not finish; alloc = %+v", ar.Alloc().TaskStates)
	}
}

func eventTypes(ts *structs.TaskState) []string {
	var out []string
	for _, e := range ts.Events {
		out = append(out, e.Type)
	}
	return out
}

func TestBatchTaskCompletesWithEnv(t *testing.T) {
	h := newHarness(t)
	a := testAlloc(structs.JobTypeBatch, &structs.Task{Name: "web",
		Env:    map[string]string{"GREETING": "hi from ${node.datacenter}"},
		Config: sh(`echo "$NOMAD_ALLOC_ID $NOMAD_TASK_NAME $GREETING" > "$NOMAD_ALLOC_DIR/data/out"; echo to-stdout`)})
	ar := h.runner(a, false)
	start(t, ar)
	waitDone(t, ar)

	got := ar.Alloc()
	if got.ClientStatus != structs.AllocClientStatusComplete {
		t.Fatalf("ClientStatus = %s, want complete; states = %+v", got.ClientStatus, got.TaskStates["web"])
	}
	want := []string{structs.TaskReceived, structs.TaskSetup, structs.TaskStarted, structs.TaskTerminated}
	if got := eventTypes(got.TaskStates["web"]); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("events = %v, want %v", got, want)
	}
	out, err := os.ReadFile(filepath.Join(h.root, a.ID, "alloc", "data", "out"))
	if err != nil {
		t.Fatalf("read task output: %v", err)
	}
	if want := a.ID + " web hi from dc1\n"; string(out) != want {
		t.Errorf("task wrote %q, want %q", out, want)
	}
	logs, _ := os.ReadFile(filepath.Join(h.root, a.ID, "alloc", "logs", "web.stdout.0"))
	if string(logs) != "to-stdout\n" {
		t.Errorf("stdout log = %q, want %q", logs, "to-stdout\n")
	}
	if st := h.rec.statuses(); strings.Join(st, ",") != "pending,running,complete" {
		t.Errorf("reported statuses = %v, want pending,running,complete", st)
	}
}

func TestServiceTaskKilled(t *testing.T) {
	h := newHarness(t)
	a := testAlloc(structs.JobTypeService, &structs.Task{Name: "web", Config: sh("sleep 60"), KillTimeout: time.Second})
	ar := h.runner(a, false)
	start(t, ar)
	waitFor(t, "running", func() bool { return ar.Alloc().ClientStatus == structs.AllocClientStatusRunning })

	stop := a.Copy()
	stop.DesiredStatus = structs.AllocDesiredStatusStop
	stop.AllocModifyIndex = 5
	ar.Update(stop)
	waitDone(t, ar)
	got := ar.Alloc()
	ts := got.TaskStates["web"]
	if got.ClientStatus != structs.AllocClientStatusComplete || ts.State != structs.TaskStateDead || ts.Failed {
		t.Fatalf("after stop: status %s, task %s failed=%v; want complete, dead, not failed", got.ClientStatus, ts.State, ts.Failed)
	}
	evs := eventTypes(ts)
	if n := len(evs); n < 2 || evs[n-2] != structs.TaskKilling || evs[n-1] != structs.TaskKilled {
		t.Errorf("events = %v, want ... Killing, Killed", evs)
	}
	if ar.AllocModifyIndex() != 5 {
		t.Errorf("AllocModifyIndex() = %d, want 5", ar.AllocModifyIndex())
	}
}

func TestRestartPolicyFail(t *testing.T) {
	h := newHarness(t)
	a := testAlloc(structs.JobTypeBatch, &structs.Task{Name: "web", Config: sh("exit 3")})
	a.Job.TaskGroups[0].RestartPolicy = &structs.RestartPolicy{Attempts: 2, Interval: time.Minute, Delay: 0, Mode: structs.RestartPolicyModeFail}
	ar := h.runner(a, false)
	start(t, ar)
	waitDone(t, ar)
	got := ar.Alloc()
	ts := got.TaskStates["web"]
	if got.ClientStatus != structs.AllocClientStatusFailed || !ts.Failed || ts.Restarts != 2 {
		t.Fatalf("status %s failed=%v restarts=%d, want failed, true, 2", got.ClientStatus, ts.Failed, ts.Restarts)
	}
	evs := eventTypes(ts)
	if evs[len(evs)-1] != structs.TaskNotRestarting {
		t.Errorf("last event = %s, want %s", evs[len(evs)-1], structs.TaskNotRestarting)
	}
	var term *structs.TaskEvent
	for _, e := range ts.Events {
		if e.Type == structs.TaskTerminated {
			term = e
		}
	}
	if term == nil || term.ExitCode != 3 {
		t.Errorf("Terminated event = %+v, want exit code 3", term)
	}
}

func TestStartFailureIsDriverFailure(t *testing.T) {
	h := newHarness(t)
	a := testAlloc(structs.JobTypeBatch, &structs.Task{Name: "web", Config: map[string]interface{}{}})
	ar := h.runner(a, false)
	start(t, ar)
	waitDone(t, ar)
	ts := ar.Alloc().TaskStates["web"]
	if !ts.Failed || !contains(eventTypes(ts), structs.TaskDriverFailure) {
		t.Errorf("task = failed %v events %v, want failed with a Driver Failure event", ts.Failed, eventTypes(ts))
	}
}

func TestSiblingFailureKillsOthers(t *testing.T) {
	h := newHarness(t)
	a := testAlloc(structs.JobTypeService,
		&structs.Task{Name: "bad", Config: sh("sleep 0.2; exit 1")},
		&structs.Task{Name: "good", Config: sh("sleep 60"), KillTimeout: time.Second})
	ar := h.runner(a, false)
	start(t, ar)
	waitDone(t, ar)
	got := ar.Alloc()
	if got.ClientStatus != structs.AllocClientStatusFailed {
		t.Errorf("ClientStatus = %s, want failed", got.ClientStatus)
	}
	good := got.TaskStates["good"]
	if good.State != structs.TaskStateDead || !contains(eventTypes(good), structs.TaskSiblingFailed) {
		t.Errorf("good task = %s events %v, want dead with Sibling Task Failed", good.State, eventTypes(good))
	}
}

func TestLifecycleOrder(t *testing.T) {
	h := newHarness(t)
	a := testAlloc(structs.JobTypeBatch,
		&structs.Task{Name: "post", Lifecycle: &structs.TaskLifecycleConfig{Hook: structs.TaskLifecycleHookPoststop},
			Config: sh(`echo post >> "$NOMAD_ALLOC_DIR/order"`)},
		&structs.Task{Name: "main", Config: sh(`sleep 0.1; echo main >> "$NOMAD_ALLOC_DIR/order"`)},
		&structs.Task{Name: "init", Lifecycle: &structs.TaskLifecycleConfig{Hook: structs.TaskLifecycleHookPrestart},
			Config: sh(`sleep 0.1; echo init >> "$NOMAD_ALLOC_DIR/order"`)},
		&structs.Task{Name: "side", Lifecycle: &structs.TaskLifecycleConfig{Hook: structs.TaskLifecycleHookPrestart, Sidecar: true},
			Config: sh(`echo side >> "$NOMAD_ALLOC_DIR/order"; sleep 60`), KillTimeout: time.Second},
	)
	ar := h.runner(a, false)
	start(t, ar)
	waitDone(t, ar)
	got := ar.Alloc()
	if got.ClientStatus != structs.AllocClientStatusComplete {
		t.Fatalf("ClientStatus = %s, want complete", got.ClientStatus)
	}
	out, _ := os.ReadFile(filepath.Join(h.root, a.ID, "alloc", "order"))
	if want := "side\ninit\nmain\npost\n"; string(out) != want {
		t.Errorf("order = %q, want %q", out, want)
	}
}

func TestRestoreReattaches(t *testing.T) {
	h := newHarness(t)
	a := testAlloc(structs.JobTypeService, &structs.Task{Name: "web", Config: sh("sleep 60"), KillTimeout: time.Second})
	ar := h.runner(a, false)
	ctx, cancel := context.WithCancel(context.Background())
	go ar.Run(ctx)
	waitFor(t, "running", func() bool { return ar.Alloc().ClientStatus == structs.AllocClientStatusRunning })
	cancel()
	<-ar.WaitCh()

	allocs, err := h.store.Allocs()
	if err != nil || len(allocs) != 1 {
		t.Fatalf("stored allocs = %d, %v; want 1", len(allocs), err)
	}
	ar2 := h.runner(allocs[0], true)
	start(t, ar2)
	waitFor(t, "recovered", func() bool { _, r := h.driver.Counts(); return r == 1 })
	if got := ar2.Alloc(); got.ClientStatus != structs.AllocClientStatusRunning {
		t.Fatalf("restored ClientStatus = %s, want running", got.ClientStatus)
	}
	if started, _ := h.driver.Counts(); started != 1 {
		t.Errorf("StartTask called %d times, want 1", started)
	}
	ar2.Kill()
	waitDone(t, ar2)
	if got := ar2.Alloc(); got.ClientStatus != structs.AllocClientStatusComplete {
		t.Errorf("after kill ClientStatus = %s, want complete", got.ClientStatus)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func TestDeploymentHealth(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		want   bool
	}{
		{"healthy after min healthy time", "sleep 60", true},
		{"unhealthy when a task fails", "exit 1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			a := testAlloc(structs.JobTypeService, &structs.Task{Name: "web", Config: sh(tc.script), KillTimeout: time.Second})
			a.DeploymentID = "d1"
			a.Job.Update = structs.UpdateStrategy{MinHealthyTime: 200 * time.Millisecond, HealthyDeadline: 5 * time.Second}
			ar := h.runner(a, false)
			start(t, ar)
			waitFor(t, "health", func() bool {
				u := h.rec.last()
				return u != nil && u.DeploymentStatus != nil && u.DeploymentStatus.Healthy != nil
			})
			if got := *h.rec.last().DeploymentStatus.Healthy; got != tc.want {
				t.Errorf("Healthy = %v, want %v", got, tc.want)
			}
			ar.Kill()
			waitDone(t, ar)
		})
	}
}

func TestLeaderDeathStopsGroup(t *testing.T) {
	h := newHarness(t)
	a := testAlloc(structs.JobTypeBatch,
		&structs.Task{Name: "leader", Leader: true, Config: sh("sleep 0.1")},
		&structs.Task{Name: "follower", Config: sh("sleep 60"), KillTimeout: time.Second},
		&structs.Task{Name: "after", Lifecycle: &structs.TaskLifecycleConfig{Hook: structs.TaskLifecycleHookPoststart, Sidecar: true},
			Config: sh("sleep 60"), KillTimeout: time.Second},
	)
	ar := h.runner(a, false)
	start(t, ar)
	waitDone(t, ar)
	got := ar.Alloc()
	if got.ClientStatus != structs.AllocClientStatusComplete {
		t.Errorf("ClientStatus = %s, want complete", got.ClientStatus)
	}
	f := got.TaskStates["follower"]
	if !contains(eventTypes(f), structs.TaskLeaderDead) || f.State != structs.TaskStateDead {
		t.Errorf("follower = %s events %v, want dead with Leader Task Dead", f.State, eventTypes(f))
	}
	if p := got.TaskStates["after"]; !contains(eventTypes(p), structs.TaskStarted) || p.State != structs.TaskStateDead {
		t.Errorf("poststart sidecar = %s events %v, want started then dead", p.State, eventTypes(p))
	}
}

func TestKillTimeoutForcesKill(t *testing.T) {
	h := newHarness(t)
	a := testAlloc(structs.JobTypeService, &structs.Task{Name: "stubborn", Config: sh(`trap "" INT TERM; sleep 60 & wait; sleep 60`),
		KillTimeout: 300 * time.Millisecond, ShutdownDelay: 100 * time.Millisecond})
	ar := h.runner(a, false)
	start(t, ar)
	waitFor(t, "running", func() bool { return ar.Alloc().ClientStatus == structs.AllocClientStatusRunning })
	time.Sleep(100 * time.Millisecond)
	t0 := time.Now()
	ar.Kill()
	waitDone(t, ar)
	if d := time.Since(t0); d < 400*time.Millisecond || d > 5*time.Second {
		t.Errorf("kill took %v, want shutdown delay + kill timeout (~400ms)", d)
	}
	if ts := ar.Alloc().TaskStates["stubborn"]; ts.State != structs.TaskStateDead {
		t.Errorf("task state = %s, want dead", ts.State)
	}
}

func TestRestartAndSignalTask(t *testing.T) {
	h := newHarness(t)
	a := testAlloc(structs.JobTypeService, &structs.Task{Name: "web", KillTimeout: time.Second,
		Config: sh(`trap 'echo hup >> "$NOMAD_TASK_DIR/sig"' HUP; echo start >> "$NOMAD_TASK_DIR/starts"; while true; do sleep 0.05; done`)})
	ar := h.runner(a, false)
	start(t, ar)
	waitFor(t, "running", func() bool { return ar.Alloc().ClientStatus == structs.AllocClientStatusRunning })
	dir := ar.AllocDir().TaskDir("web").LocalDir
	waitFor(t, "trap set", func() bool {
		_, err := os.Stat(filepath.Join(dir, "starts"))
		return err == nil
	})

	if err := ar.SignalTask(context.Background(), "web", "SIGHUP"); err != nil {
		t.Fatalf("SignalTask() error = %v", err)
	}
	waitFor(t, "signal handled", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "sig"))
		return string(b) == "hup\n"
	})
	if err := ar.SignalTask(context.Background(), "nope", "SIGHUP"); !errors.Is(err, ErrUnknownTask) {
		t.Errorf("SignalTask(nope) error = %v, want ErrUnknownTask", err)
	}

	if err := ar.RestartTask("web"); err != nil {
		t.Fatalf("RestartTask() error = %v", err)
	}
	waitFor(t, "restarted", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "starts"))
		return string(b) == "start\nstart\n" && ar.TaskState("web").State == structs.TaskStateRunning
	})
	ts := ar.TaskState("web")
	if ts.Restarts != 1 || !contains(eventTypes(ts), structs.TaskRestartSignal) {
		t.Errorf("after restart: restarts %d events %v, want 1 and a Restart Signaled event", ts.Restarts, eventTypes(ts))
	}
	ar.Kill()
	waitDone(t, ar)
	if err := ar.RestartTask("web"); !errors.Is(err, ErrTaskNotRunning) {
		t.Errorf("RestartTask() on a dead task error = %v, want ErrTaskNotRunning", err)
	}
}

func TestTemplates(t *testing.T) {
	h := newHarness(t)
	a := testAlloc(structs.JobTypeBatch, &structs.Task{Name: "web",
		Templates: []*structs.Template{
			{EmbeddedTmpl: "name={{ env \"NOMAD_TASK_NAME\" }}\n", DestPath: "local/app.conf"},
			{EmbeddedTmpl: "GREETING=hello\n", DestPath: "secrets/env", Envvars: true},
		},
		Config: sh(`cat "$NOMAD_TASK_DIR/app.conf"; echo "$GREETING"`)})
	ar := h.runner(a, false)
	start(t, ar)
	waitDone(t, ar)
	if got := ar.Alloc().ClientStatus; got != structs.AllocClientStatusComplete {
		t.Fatalf("ClientStatus = %s, want complete", got)
	}
	out, _ := os.ReadFile(filepath.Join(h.root, a.ID, "alloc", "logs", "web.stdout.0"))
	if string(out) != "name=web\nhello\n" {
		t.Errorf("stdout = %q, want %q", out, "name=web\nhello\n")
	}
}

func TestTemplateFailureFailsTask(t *testing.T) {
	h := newHarness(t)
	a := testAlloc(structs.JobTypeService, &structs.Task{Name: "web",
		Templates: []*structs.Template{{EmbeddedTmpl: "{{ nope }}", DestPath: "local/x"}},
		Config:    sh("sleep 60")})
	a.Job.TaskGroups[0].RestartPolicy.Attempts = 3
	ar := h.runner(a, false)
	start(t, ar)
	waitDone(t, ar)
	ts := ar.Alloc().TaskStates["web"]
	if !ts.Failed || ts.Restarts != 0 || !contains(eventTypes(ts), structs.TaskSetupFailure) {
		t.Errorf("task failed=%v restarts=%d events=%v, want failed at once with Setup Failure", ts.Failed, ts.Restarts, eventTypes(ts))
	}
	if started, _ := h.driver.Counts(); started != 0 {
		t.Errorf("StartTask called %d times, want 0", started)
	}
}

func TestDispatchPayload(t *testing.T) {
	h := newHarness(t)
	a := testAlloc(structs.JobTypeBatch, &structs.Task{Name: "web",
		DispatchPayload: &structs.DispatchPayloadConfig{File: "input/payload.txt"},
		Config:          sh(`cat "$NOMAD_TASK_DIR/input/payload.txt"`)})
	a.Job.Payload = []byte("hello payload")
	ar := h.runner(a, false)
	start(t, ar)
	waitDone(t, ar)
	out, _ := os.ReadFile(filepath.Join(h.root, a.ID, "alloc", "logs", "web.stdout.0"))
	if string(out) != "hello payload" {
		t.Errorf("stdout = %q, want the payload", out)
	}
}

func TestRestoreStartsAgainWhenTaskIsGone(t *testing.T) {
	h := newHarness(t)
	a := testAlloc(structs.JobTypeService, &structs.Task{Name: "web", Config: sh("sleep 60"), KillTimeout: time.Second})
	ar := h.runner(a, false)
	ctx, cancel := context.WithCancel(context.Background())
	go ar.Run(ctx)
	waitFor(t, "running", func() bool { return ar.Alloc().ClientStatus == structs.AllocClientStatusRunning })
	cancel()
	<-ar.WaitCh()

	// The host rebooted: the old driver and its processes are gone.
	h.driver.KillAll()
	old := h.driver
	h.driver = testdriver.New()
	t.Cleanup(old.KillAll)
	allocs, _ := h.store.Allocs()
	ar2 := h.runner(allocs[0], true)
	start(t, ar2)
	waitFor(t, "started again", func() bool {
		started, _ := h.driver.Counts()
		return started == 1 && ar2.TaskState("web").State == structs.TaskStateRunning
	})
	ar2.Kill()
	waitDone(t, ar2)
}

func TestDeploymentHealthForNewDeployment(t *testing.T) {
	h := newHarness(t)
	a := testAlloc(structs.JobTypeService, &structs.Task{Name: "web", Config: sh("sleep 60"), KillTimeout: time.Second})
	a.DeploymentID = "d1"
	a.Job.Update = structs.UpdateStrategy{MinHealthyTime: 100 * time.Millisecond, HealthyDeadline: 5 * time.Second}
	ar := h.runner(a, false)
	start(t, ar)
	healthyFor := func(dep string) func() bool {
		return func() bool {
			got := ar.Alloc()
			return got.DeploymentID == dep && got.DeploymentStatus != nil && got.DeploymentStatus.Healthy != nil && *got.DeploymentStatus.Healthy
		}
	}
	waitFor(t, "healthy in d1", healthyFor("d1"))

	next := a.Copy()
	next.DeploymentID = "d2"
	next.DeploymentStatus = nil
	next.AllocModifyIndex = 7
	ar.Update(next)
	waitFor(t, "healthy in d2", healthyFor("d2"))
	ar.Kill()
	waitDone(t, ar)
}

func TestArtifacts(t *testing.T) {
	h := newHarness(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/tool.sh" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, "echo from artifact\n")
	}))
	defer srv.Close()
	a := testAlloc(structs.JobTypeBatch, &structs.Task{Name: "web",
		Artifacts: []*structs.TaskArtifact{{GetterSource: srv.URL + "/tool.sh"}},
		Config:    sh(`. "$NOMAD_TASK_DIR/tool.sh"`)})
	ar := h.runner(a, false)
	start(t, ar)
	waitDone(t, ar)
	out, _ := os.ReadFile(filepath.Join(h.root, a.ID, "alloc", "logs", "web.stdout.0"))
	if string(out) != "from artifact\n" {
		t.Errorf("stdout = %q, want %q", out, "from artifact\n")
	}
	if evs := eventTypes(ar.TaskState("web")); !contains(evs, "Downloading Artifacts") {
		t.Errorf("events = %v, want Downloading Artifacts", evs)
	}
}

func TestArtifactFailureRestarts(t *testing.T) {
	h := newHarness(t)
	a := testAlloc(structs.JobTypeBatch, &structs.Task{Name: "web",
		Artifacts: []*structs.TaskArtifact{{GetterSource: "file:///does/not/exist"}},
		Config:    sh("true")})
	a.Job.TaskGroups[0].RestartPolicy = &structs.RestartPolicy{Attempts: 1, Interval: time.Minute, Mode: structs.RestartPolicyModeFail}
	ar := h.runner(a, false)
	start(t, ar)
	waitDone(t, ar)
	ts := ar.TaskState("web")
	if !ts.Failed || ts.Restarts != 1 || !contains(eventTypes(ts), "Failed Artifact Download") {
		t.Errorf("task failed=%v restarts=%d events=%v, want failed after 1 restart with Failed Artifact Download", ts.Failed, ts.Restarts, eventTypes(ts))
	}
}
