// Package drivertest is the conformance suite every task driver passes,
// always through a real plugin process launched by the catalog.
package drivertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/nomadish/nomadish/drivers"
)

// Launcher starts a fresh plugin process serving the driver under test.
// The suite kills the returned client to simulate a plugin crash.
type Launcher func(t *testing.T) (drivers.DriverPlugin, *goplugin.Client)

// Config describes the driver under test.
type Config struct {
	// PluginConfig is passed to SetConfig after every launch.
	PluginConfig []byte
	// ShellTask returns the driver config block that runs script with /bin/sh.
	ShellTask func(script string) map[string]interface{}
	// EnforcesMemory enables the OOM test.
	EnforcesMemory bool
	// Timeout bounds each step; zero means 30s.
	Timeout time.Duration
	// AllocDirInTask is where the task sees the shared alloc dir ("/alloc");
	// empty means the host path, as for raw_exec. It is passed to the task
	// as NOMAD_ALLOC_DIR.
	AllocDirInTask string
}

var taskSeq atomic.Int64

// RunConformance runs the suite as subtests of t.
func RunConformance(t *testing.T, launch Launcher, cfg Config) {
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	s := &suite{launch: launch, cfg: cfg}
	t.Run("Fingerprint", s.testFingerprint)
	t.Run("ExitCodeAndLogs", s.testExitCodeAndLogs)
	t.Run("StopWithSignal", s.testStopWithSignal)
	t.Run("StopEscalatesToKill", s.testStopEscalatesToKill)
	t.Run("Signal", s.testSignal)
	t.Run("Stats", s.testStats)
	t.Run("Exec", s.testExec)
	t.Run("UnknownTask", s.testUnknownTask)
	t.Run("RecoverAfterPluginCrash", s.testRecover)
	t.Run("RecoverTaskThatExitedMeanwhile", s.testRecoverExited)
	if cfg.EnforcesMemory {
		t.Run("OOMKill", s.testOOM)
	}
}

type suite struct {
	launch Launcher
	cfg    Config
}

func (s *suite) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	t.Cleanup(cancel)
	return ctx
}

// start launches a configured plugin process.
func (s *suite) start(t *testing.T) (drivers.DriverPlugin, *goplugin.Client) {
	t.Helper()
	d, client := s.launch(t)
	t.Cleanup(client.Kill)
	if err := d.SetConfig(s.ctx(t), s.cfg.PluginConfig); err != nil {
		t.Fatalf("SetConfig() = %v, want nil", err)
	}
	return d, client
}

// NewTaskConfig builds a task config with a fresh alloc dir layout under
// t.TempDir(): <alloc>/alloc/logs, <alloc>/<task>/{local,secrets,tmp}.
func NewTaskConfig(t *testing.T, driverConfig map[string]interface{}) *drivers.TaskConfig {
	t.Helper()
	allocDir := t.TempDir()
	n := taskSeq.Add(1)
	taskDir := filepath.Join(allocDir, "web")
	for _, d := range []string{"alloc/logs", "alloc/data", "alloc/tmp", "web/local", "web/secrets", "web/tmp"} {
		if err := os.MkdirAll(filepath.Join(allocDir, d), 0o777); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := json.Marshal(driverConfig)
	if err != nil {
		t.Fatal(err)
	}
	return &drivers.TaskConfig{
		ID:            fmt.Sprintf("alloc-%d/web/%d", n, time.Now().UnixNano()),
		JobName:       "conformance",
		JobID:         "conformance",
		TaskGroupName: "group",
		Name:          "web",
		Namespace:     "default",
		AllocID:       fmt.Sprintf("alloc-%d", n),
		Env: map[string]string{
			"PATH":             "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"NOMAD_TASK_NAME":  "web",
			"CONFORMANCE_WORD": "bonjour",
		},
		Resources:    &drivers.Resources{CPUShares: 100, MemoryMB: 128},
		AllocDir:     allocDir,
		TaskDir:      taskDir,
		StdoutPath:   filepath.Join(allocDir, "alloc/logs/web.stdout.0"),
		StderrPath:   filepath.Join(allocDir, "alloc/logs/web.stderr.0"),
		DriverConfig: raw,
	}
}

func (s *suite) startTask(t *testing.T, d drivers.DriverPlugin, script string, mutate ...func(*drivers.TaskConfig)) (*drivers.TaskConfig, *drivers.TaskHandle) {
	t.Helper()
	cfg := NewTaskConfig(t, s.cfg.ShellTask(script))
	cfg.Env["NOMAD_ALLOC_DIR"] = filepath.Join(cfg.AllocDir, "alloc")
	if s.cfg.AllocDirInTask != "" {
		cfg.Env["NOMAD_ALLOC_DIR"] = s.cfg.AllocDirInTask
	}
	for _, m := range mutate {
		m(cfg)
	}
	h, err := d.StartTask(s.ctx(t), cfg)
	if err != nil {
		t.Fatalf("StartTask() = %v, want nil", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = d.DestroyTask(ctx, cfg.ID, true)
	})
	return cfg, h
}

func (s *suite) wait(t *testing.T, d drivers.DriverPlugin, id string) *drivers.ExitResult {
	t.Helper()
	ctx := s.ctx(t)
	ch, err := d.WaitTask(ctx, id)
	if err != nil {
		t.Fatalf("WaitTask() = %v, want nil", err)
	}
	select {
	case res, ok := <-ch:
		if !ok || res == nil {
			t.Fatalf("WaitTask() channel closed without a result")
		}
		return res
	case <-ctx.Done():
		t.Fatalf("WaitTask() did not return within %v", s.cfg.Timeout)
	}
	return nil
}

// waitForFile polls until path contains want.
func (s *suite) waitForFile(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(s.cfg.Timeout)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(path)
	t.Fatalf("%s = %q, want it to contain %q", path, b, want)
}

func (s *suite) testFingerprint(t *testing.T) {
	d, _ := s.start(t)
	ctx, cancel := context.WithCancel(s.ctx(t))
	defer cancel()
	ch, err := d.Fingerprint(ctx)
	if err != nil {
		t.Fatalf("Fingerprint() = %v, want nil", err)
	}
	fp := <-ch
	if fp == nil || fp.Health != drivers.HealthStateHealthy {
		t.Fatalf("Fingerprint() = %+v, want health %q", fp, drivers.HealthStateHealthy)
	}
	caps, err := d.Capabilities(ctx)
	if err != nil || !caps.SendSignals || !caps.Exec {
		t.Fatalf("Capabilities() = %+v, %v, want signals and exec", caps, err)
	}
	if d.TaskConfigSchema() == nil {
		t.Fatalf("TaskConfigSchema() = nil")
	}
}

func (s *suite) testExitCodeAndLogs(t *testing.T) {
	d, _ := s.start(t)
	cfg, h := s.startTask(t, d, `echo "out $CONFORMANCE_WORD"; echo "err line" >&2; exit 3`)
	if h.State != drivers.TaskStateRunning || len(h.DriverState) == 0 {
		t.Fatalf("StartTask() handle = %+v, want running with driver state", h)
	}
	res := s.wait(t, d, cfg.ID)
	if res.ExitCode != 3 || res.Signal != 0 || res.Err != "" {
		t.Fatalf("exit = %+v, want code 3", res)
	}
	s.waitForFile(t, cfg.StdoutPath, "out bonjour")
	s.waitForFile(t, cfg.StderrPath, "err line")
	st, err := d.InspectTask(s.ctx(t), cfg.ID)
	if err != nil || st.State != drivers.TaskStateExited || st.ExitResult == nil || st.ExitResult.ExitCode != 3 {
		t.Fatalf("InspectTask() = %+v, %v, want exited with code 3", st, err)
	}
	if st.StartedAt.IsZero() || st.CompletedAt.Before(st.StartedAt) {
		t.Fatalf("InspectTask() times = %v..%v, want started then completed", st.StartedAt, st.CompletedAt)
	}
}

func (s *suite) testStopWithSignal(t *testing.T) {
	d, _ := s.start(t)
	cfg, _ := s.startTask(t, d, `trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.1; done`)
	s.waitForFile(t, cfg.StdoutPath, "ready")
	if err := d.StopTask(s.ctx(t), cfg.ID, 10*time.Second, "SIGTERM"); err != nil {
		t.Fatalf("StopTask() = %v, want nil", err)
	}
	res := s.wait(t, d, cfg.ID)
	if res.ExitCode != 7 {
		t.Fatalf("exit = %+v, want code 7 from the trap", res)
	}
	s.waitForFile(t, cfg.StdoutPath, "got-term")
}

func (s *suite) testStopEscalatesToKill(t *testing.T) {
	d, _ := s.start(t)
	cfg, _ := s.startTask(t, d, `trap '' INT TERM; echo ready; while :; do sleep 0.1; done`)
	s.waitForFile(t, cfg.StdoutPath, "ready")
	start := time.Now()
	if err := d.StopTask(s.ctx(t), cfg.ID, 500*time.Millisecond, ""); err != nil {
		t.Fatalf("StopTask() = %v, want nil", err)
	}
	if el := time.Since(start); el < 400*time.Millisecond {
		t.Fatalf("StopTask() returned after %v, want it to wait the timeout first", el)
	}
	res := s.wait(t, d, cfg.ID)
	if res.Signal != int(syscall.SIGKILL) {
		t.Fatalf("exit = %+v, want signal %d", res, syscall.SIGKILL)
	}
}

func (s *suite) testSignal(t *testing.T) {
	d, _ := s.start(t)
	cfg, _ := s.startTask(t, d, `trap 'echo got-usr1; exit 0' USR1; echo ready; while :; do sleep 0.1; done`)
	s.waitForFile(t, cfg.StdoutPath, "ready")
	if err := d.SignalTask(s.ctx(t), cfg.ID, "SIGUSR1"); err != nil {
		t.Fatalf("SignalTask() = %v, want nil", err)
	}
	res := s.wait(t, d, cfg.ID)
	if !res.Successful() {
		t.Fatalf("exit = %+v, want success", res)
	}
	s.waitForFile(t, cfg.StdoutPath, "got-usr1")
	if err := d.SignalTask(s.ctx(t), cfg.ID, "SIGNOPE"); err == nil {
		t.Fatalf("SignalTask(SIGNOPE) = nil, want error")
	}
}

func (s *suite) testStats(t *testing.T) {
	d, _ := s.start(t)
	cfg, _ := s.startTask(t, d, `echo ready; while :; do sleep 0.1; done`)
	s.waitForFile(t, cfg.StdoutPath, "ready")
	ctx, cancel := context.WithCancel(s.ctx(t))
	defer cancel()
	ch, err := d.TaskStats(ctx, cfg.ID, 200*time.Millisecond)
	if err != nil {
		t.Fatalf("TaskStats() = %v, want nil", err)
	}
	for i := 0; i < 2; i++ {
		select {
		case u, ok := <-ch:
			if !ok {
				t.Fatalf("TaskStats() channel closed early")
			}
			if u.Timestamp == 0 || u.MemoryRSS == 0 && u.MemoryUsage == 0 {
				t.Fatalf("TaskStats() sample = %+v, want timestamp and memory", u)
			}
		case <-ctx.Done():
			t.Fatalf("TaskStats() sent no sample")
		}
	}
}

func (s *suite) testExec(t *testing.T) {
	d, _ := s.start(t)
	cfg, _ := s.startTask(t, d, `echo ready; while :; do sleep 0.1; done`)
	s.waitForFile(t, cfg.StdoutPath, "ready")
	res, err := d.ExecTask(s.ctx(t), cfg.ID, []string{"/bin/sh", "-c", `echo "exec $CONFORMANCE_WORD"; exit 4`}, 10*time.Second)
	if err != nil {
		t.Fatalf("ExecTask() = %v, want nil", err)
	}
	if !strings.Contains(string(res.Stdout), "exec bonjour") || res.ExitResult.ExitCode != 4 {
		t.Fatalf("ExecTask() = stdout %q exit %+v, want \"exec bonjour\" and code 4", res.Stdout, res.ExitResult)
	}
}

func (s *suite) testUnknownTask(t *testing.T) {
	d, _ := s.start(t)
	ctx := s.ctx(t)
	if _, err := d.InspectTask(ctx, "nope"); !errorsIsNotFound(err) {
		t.Fatalf("InspectTask(nope) = %v, want ErrTaskNotFound", err)
	}
	if _, err := d.WaitTask(ctx, "nope"); !errorsIsNotFound(err) {
		t.Fatalf("WaitTask(nope) = %v, want ErrTaskNotFound", err)
	}
}

func (s *suite) testRecover(t *testing.T) {
	d, client := s.start(t)
	cfg, h := s.startTask(t, d, `echo ready; while [ ! -f "$NOMAD_ALLOC_DIR/data/release" ]; do sleep 0.1; done; echo released; exit 5`)
	s.waitForFile(t, cfg.StdoutPath, "ready")

	// A wait in flight when the plugin dies ends without a result.
	waitCtx, waitCancel := context.WithCancel(s.ctx(t))
	defer waitCancel()
	oldWait, err := d.WaitTask(waitCtx, cfg.ID)
	if err != nil {
		t.Fatalf("WaitTask() = %v, want nil", err)
	}

	// Crash the plugin: SIGKILL, no graceful shutdown.
	pid := client.ReattachConfig().Pid
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill plugin: %v", err)
	}
	deadline := time.Now().Add(s.cfg.Timeout)
	for !client.Exited() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !client.Exited() {
		t.Fatalf("plugin process %d did not exit", pid)
	}
	select {
	case res, ok := <-oldWait:
		if ok {
			t.Fatalf("WaitTask() on the dead plugin = %+v, want closed channel", res)
		}
	case <-waitCtx.Done():
		t.Fatalf("WaitTask() on the dead plugin did not end")
	}
	if _, err := d.InspectTask(s.ctx(t), cfg.ID); !errors.Is(err, drivers.ErrPluginExited) {
		t.Fatalf("InspectTask() on the dead plugin = %v, want ErrPluginExited", err)
	}

	d2, _ := s.start(t)
	ctx := s.ctx(t)
	if err := d2.RecoverTask(ctx, h); err != nil {
		t.Fatalf("RecoverTask() = %v, want nil", err)
	}
	st, err := d2.InspectTask(ctx, cfg.ID)
	if err != nil || st.State != drivers.TaskStateRunning {
		t.Fatalf("InspectTask() after recover = %+v, %v, want running", st, err)
	}
	t.Cleanup(func() { _ = d2.DestroyTask(context.Background(), cfg.ID, true) })
	if err := os.WriteFile(filepath.Join(cfg.AllocDir, "alloc/data/release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	res := s.wait(t, d2, cfg.ID)
	if res.ExitCode != 5 {
		t.Fatalf("exit after recover = %+v, want code 5", res)
	}
	s.waitForFile(t, cfg.StdoutPath, "released")
}

func (s *suite) testOOM(t *testing.T) {
	d, _ := s.start(t)
	cfg, _ := s.startTask(t, d, `x=$(head -c 200000000 /dev/zero | tr '\0' a); echo survived`, func(c *drivers.TaskConfig) {
		c.Resources.MemoryMB = 32
	})
	res := s.wait(t, d, cfg.ID)
	if !res.OOMKilled {
		t.Fatalf("exit = %+v, want OOMKilled", res)
	}
}

// killPlugin crashes the plugin process and waits until it is gone.
func (s *suite) killPlugin(t *testing.T, client *goplugin.Client) {
	t.Helper()
	pid := client.ReattachConfig().Pid
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill plugin: %v", err)
	}
	deadline := time.Now().Add(s.cfg.Timeout)
	for !client.Exited() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !client.Exited() {
		t.Fatalf("plugin process %d did not exit", pid)
	}
}

// testRecoverExited lets the task exit while no plugin runs; the new
// plugin must still report how it ended.
func (s *suite) testRecoverExited(t *testing.T) {
	d, client := s.start(t)
	cfg, h := s.startTask(t, d, `echo ready; while [ ! -f "$NOMAD_ALLOC_DIR/data/release" ]; do sleep 0.1; done; echo released; exit 6`)
	s.waitForFile(t, cfg.StdoutPath, "ready")
	s.killPlugin(t, client)
	if err := os.WriteFile(filepath.Join(cfg.AllocDir, "alloc/data/release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s.waitForFile(t, cfg.StdoutPath, "released")

	d2, _ := s.start(t)
	if err := d2.RecoverTask(s.ctx(t), h); err != nil {
		t.Fatalf("RecoverTask() = %v, want nil", err)
	}
	t.Cleanup(func() { _ = d2.DestroyTask(context.Background(), cfg.ID, true) })
	res := s.wait(t, d2, cfg.ID)
	if res.ExitCode != 6 {
		t.Fatalf("exit after recover = %+v, want code 6", res)
	}
	st, err := d2.InspectTask(s.ctx(t), cfg.ID)
	if err != nil || st.State != drivers.TaskStateExited {
		t.Fatalf("InspectTask() = %+v, %v, want exited", st, err)
	}
}
