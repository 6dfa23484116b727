package client

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/catalog"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// pluginLoader launches real driver plugins through the catalog, keeps one
// per name, and relaunches a plugin whose process exited.
type pluginLoader struct {
	t       *testing.T
	mu      sync.Mutex
	plugins map[string]drivers.DriverPlugin
	clients map[string]*goplugin.Client
	launchs int
	// fresh launches a new plugin on every call, like a loader without a cache.
	fresh bool
	extra []*goplugin.Client
}

func newPluginLoader(t *testing.T) *pluginLoader {
	l := &pluginLoader{t: t, plugins: map[string]drivers.DriverPlugin{}, clients: map[string]*goplugin.Client{}}
	t.Cleanup(l.killAll)
	return l
}

func (l *pluginLoader) load(ctx context.Context, name string) (drivers.DriverPlugin, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if pc := l.clients[name]; pc != nil && !pc.Exited() && !l.fresh {
		return l.plugins[name], nil
	}
	if pc := l.clients[name]; pc != nil {
		l.extra = append(l.extra, pc)
	}
	d, pc, err := catalog.Launch(ctx, name, hclog.NewNullLogger())
	if err != nil {
		return nil, err
	}
	l.launchs++
	l.plugins[name], l.clients[name] = d, pc
	return d, nil
}

// crash kills a plugin process, as a plugin crash would.
func (l *pluginLoader) crash(name string) {
	l.mu.Lock()
	pc := l.clients[name]
	l.mu.Unlock()
	if pc != nil {
		pc.Kill()
	}
}

func (l *pluginLoader) launches() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.launchs
}

func (l *pluginLoader) killAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, pc := range l.clients {
		pc.Kill()
	}
	for _, pc := range l.extra {
		pc.Kill()
	}
}

func rawExecConfig(e *testEnv, l *pluginLoader) *Config {
	cfg := e.config()
	cfg.Drivers = []string{"raw_exec"}
	cfg.DriverConfig = map[string]map[string]interface{}{"raw_exec": {"enabled": true}}
	cfg.DriverLoader = l.load
	return cfg
}

func rawExecAlloc(nodeID, script string) *structs.Allocation {
	a := shAlloc(nodeID, structs.JobTypeService, script)
	a.Job.TaskGroups[0].Tasks[0].Driver = "raw_exec"
	return a
}

func pidAlive(t *testing.T, path string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var pid int
	for _, ch := range strings.TrimSpace(string(b)) {
		pid = pid*10 + int(ch-'0')
	}
	return pid > 0 && syscall.Kill(pid, 0) == nil
}

func TestRawExecRunsStopsAndSurvivesPluginCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("launches driver plugins")
	}
	e := newTestEnv(t)
	l := newPluginLoader(t)
	c := e.start(rawExecConfig(e, l))
	waitFor(t, "registration", func() bool { return e.server.node(c.NodeID()) != nil })
	if n := e.server.node(c.NodeID()); n.Attributes["driver.raw_exec"] != "1" {
		t.Fatalf("driver.raw_exec = %q, want 1", n.Attributes["driver.raw_exec"])
	}

	a := rawExecAlloc(c.NodeID(), `echo $$ > "$NOMAD_TASK_DIR/pid"; echo "hello from $NOMAD_TASK_NAME"; exec sleep 60`)
	submitted := time.Now()
	e.server.upsertAlloc(a)
	waitFor(t, "running", func() bool { return e.status(a.ID) == structs.AllocClientStatusRunning })
	e.server.mu.Lock()
	t.Logf("raw_exec submit to running reported: %v", e.server.firstRunning[a.ID].Sub(submitted))
	e.server.mu.Unlock()

	dir, _ := c.AllocDir(a.ID)
	pidFile := filepath.Join(dir, "web", "local", "pid")
	waitFor(t, "task pid", func() bool { return pidAlive(t, pidFile) })
	waitFor(t, "stdout log", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "alloc", "logs", "web.stdout.0"))
		return string(b) == "hello from web\n"
	})

	// The plugin dies: the task keeps running and the client re-attaches
	// through a new plugin process.
	l.crash("raw_exec")
	waitFor(t, "plugin relaunch", func() bool { return l.launches() >= 2 })
	time.Sleep(300 * time.Millisecond)
	if !pidAlive(t, pidFile) {
		t.Fatal("task died with its driver plugin")
	}
	if st := e.status(a.ID); st != structs.AllocClientStatusRunning {
		t.Fatalf("status after plugin crash = %s, want running", st)
	}
	ar := c.runner(a.ID)
	for _, ev := range ar.TaskState("web").Events {
		if ev.Type == structs.TaskRestarting || ev.Type == structs.TaskTerminated {
			t.Errorf("unexpected %s event after plugin crash: %s", ev.Type, ev.DisplayMessage)
		}
	}

	stop := e.server.alloc(a.ID)
	stop.DesiredStatus = structs.AllocDesiredStatusStop
	e.server.upsertAlloc(stop)
	waitFor(t, "complete", func() bool { return e.status(a.ID) == structs.AllocClientStatusComplete })
	waitFor(t, "task process gone", func() bool { return !pidAlive(t, pidFile) })
}

func TestRawExecRecoveredAfterAgentRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("launches driver plugins")
	}
	e := newTestEnv(t)
	l := newPluginLoader(t)
	c1, err := NewClient(rawExecConfig(e, l))
	if err != nil {
		t.Fatalf("NewClient() error = %v", err)
	}
	if err := c1.Start(); err != nil {
		t.Fatalf("Start() error = %v", err)
	}
	waitFor(t, "registration", func() bool { return e.server.node(c1.NodeID()) != nil })
	a := rawExecAlloc(c1.NodeID(), `echo $$ > "$NOMAD_TASK_DIR/pid"; exec sleep 60`)
	e.server.upsertAlloc(a)
	waitFor(t, "running", func() bool { return e.status(a.ID) == structs.AllocClientStatusRunning })
	dir, _ := c1.AllocDir(a.ID)
	pidFile := filepath.Join(dir, "web", "local", "pid")
	waitFor(t, "task pid", func() bool { return pidAlive(t, pidFile) })
	pid, _ := os.ReadFile(pidFile)

	// The whole agent goes away: client and plugin.
	if err := c1.Shutdown(); err != nil {
		t.Fatalf("Shutdown() error = %v", err)
	}
	l.killAll()
	if !pidAlive(t, pidFile) {
		t.Fatal("task died with the agent")
	}

	cfg := rawExecConfig(e, l)
	cfg.DevMode = true
	c2 := e.start(cfg)
	waitFor(t, "recovered running", func() bool {
		ar := c2.runner(a.ID)
		return ar != nil && ar.TaskState("web").State == structs.TaskStateRunning && l.launches() >= 2
	})
	time.Sleep(300 * time.Millisecond)
	if pid2, _ := os.ReadFile(pidFile); string(pid2) != string(pid) {
		t.Errorf("task was restarted: pid %s became %s", pid, pid2)
	}
	if !pidAlive(t, pidFile) {
		t.Fatal("recovered task is not running")
	}
	if err := c2.Shutdown(); err != nil {
		t.Fatalf("Shutdown() error = %v", err)
	}
	if pidAlive(t, pidFile) {
		t.Error("DevMode shutdown left the task running")
	}
}

func TestRawExecLoaderCalledOncePerPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("launches driver plugins")
	}
	e := newTestEnv(t)
	l := newPluginLoader(t)
	l.fresh = true
	c := e.start(rawExecConfig(e, l))
	waitFor(t, "registration", func() bool { return e.server.node(c.NodeID()) != nil })
	var ids []string
	for i := 0; i < 2; i++ {
		a := rawExecAlloc(c.NodeID(), "exec sleep 60")
		e.server.upsertAlloc(a)
		ids = append(ids, a.ID)
	}
	for _, id := range ids {
		waitFor(t, "running", func() bool { return e.status(id) == structs.AllocClientStatusRunning })
	}
	if n := l.launches(); n != 1 {
		t.Errorf("plugin launches = %d, want 1", n)
	}
	for _, id := range ids {
		stop := e.server.alloc(id)
		stop.DesiredStatus = structs.AllocDesiredStatusStop
		e.server.upsertAlloc(stop)
	}
	for _, id := range ids {
		waitFor(t, "complete", func() bool { return e.status(id) == structs.AllocClientStatusComplete })
	}
}
