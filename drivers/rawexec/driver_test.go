package rawexec_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/catalog"
	"github.com/nomadish/nomadish/drivers/drivertest"
	"github.com/nomadish/nomadish/drivers/rawexec"
)

func TestMain(m *testing.M) {
	catalog.MaybeServe()
	os.Exit(m.Run())
}

func launch(t *testing.T) (drivers.DriverPlugin, *goplugin.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logger := hclog.New(&hclog.LoggerOptions{Name: t.Name(), Level: hclog.Warn, Output: hclog.DefaultOutput})
	d, client, err := catalog.Launch(ctx, rawexec.Name, logger)
	if err != nil {
		t.Fatalf("Launch(%s) = %v, want nil", rawexec.Name, err)
	}
	return d, client
}

func shellTask(script string) map[string]interface{} {
	return map[string]interface{}{"command": "/bin/sh", "args": []string{"-c", script}}
}

func TestConformance(t *testing.T) {
	drivertest.RunConformance(t, launch, drivertest.Config{
		PluginConfig: []byte(`{"enabled": true}`),
		ShellTask:    shellTask,
	})
}

func TestDisabledByDefault(t *testing.T) {
	d, client := launch(t)
	defer client.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch, err := d.Fingerprint(ctx)
	if err != nil {
		t.Fatalf("Fingerprint() = %v, want nil", err)
	}
	if fp := <-ch; fp.Health != drivers.HealthStateUndetected {
		t.Fatalf("Fingerprint() health = %q, want %q", fp.Health, drivers.HealthStateUndetected)
	}
	cfg := drivertest.NewTaskConfig(t, shellTask("true"))
	if _, err := d.StartTask(ctx, cfg); err == nil {
		t.Fatalf("StartTask() on disabled driver = nil, want error")
	}
	if err := d.SetConfig(ctx, []byte(`{"enabled": true}`)); err != nil {
		t.Fatalf("SetConfig() = %v, want nil", err)
	}
	fp := <-ch
	if fp.Health != drivers.HealthStateHealthy || fp.Attributes["driver.raw_exec"] != "1" {
		t.Fatalf("Fingerprint() after enable = %+v, want healthy with driver.raw_exec=1", fp)
	}
}

// TestLeftoverProcessesEnd checks that processes a task leaves in its
// process group are killed when the task exits.
func TestLeftoverProcessesEnd(t *testing.T) {
	d, client := launch(t)
	defer client.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.SetConfig(ctx, []byte(`{"enabled": true}`)); err != nil {
		t.Fatalf("SetConfig() = %v", err)
	}
	cfg := drivertest.NewTaskConfig(t, shellTask(`sleep 300 & echo $! > child.pid; exit 0`))
	if _, err := d.StartTask(ctx, cfg); err != nil {
		t.Fatalf("StartTask() = %v", err)
	}
	defer d.DestroyTask(context.Background(), cfg.ID, true)
	ch, err := d.WaitTask(ctx, cfg.ID)
	if err != nil {
		t.Fatalf("WaitTask() = %v", err)
	}
	if res := <-ch; res == nil || !res.Successful() {
		t.Fatalf("exit = %+v, want success", res)
	}
	b, err := os.ReadFile(filepath.Join(cfg.TaskDir, "child.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("child.pid = %q: %v", b, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(st), ") Z ") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("child %d of the exited task still runs", pid)
}

// TestExecutorDeath checks that a task whose executor is killed is
// reported with an error and does not keep running untracked.
func TestExecutorDeath(t *testing.T) {
	d, client := launch(t)
	defer client.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.SetConfig(ctx, []byte(`{"enabled": true}`)); err != nil {
		t.Fatalf("SetConfig() = %v", err)
	}
	cfg := drivertest.NewTaskConfig(t, shellTask(`echo ready; while :; do sleep 0.1; done`))
	h, err := d.StartTask(ctx, cfg)
	if err != nil {
		t.Fatalf("StartTask() = %v", err)
	}
	defer d.DestroyTask(context.Background(), cfg.ID, true)
	var st struct {
		ExecutorPID int `json:"executor_pid"`
		TaskPID     int `json:"task_pid"`
	}
	if err := json.Unmarshal(h.DriverState, &st); err != nil || st.ExecutorPID == 0 || st.TaskPID == 0 {
		t.Fatalf("driver state %s: %v", h.DriverState, err)
	}
	ch, err := d.WaitTask(ctx, cfg.ID)
	if err != nil {
		t.Fatalf("WaitTask() = %v", err)
	}
	if err := syscall.Kill(st.ExecutorPID, syscall.SIGKILL); err != nil {
		t.Fatalf("kill executor: %v", err)
	}
	res := <-ch
	if res == nil || !strings.Contains(res.Err, "task killed") {
		t.Fatalf("exit = %+v, want an error saying the task was killed", res)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(st.TaskPID, 0) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("task %d still runs after its executor died", st.TaskPID)
}
