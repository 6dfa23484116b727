//go:build linux

package exec_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cgroups "github.com/containerd/cgroups/v3"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/drivertest"
)

// EnvRequireCgroup2, when set, turns "this host is not cgroup v2" into a
// failure. The VM that e2e/cgroupv2 boots sets it, so the tests below
// cannot pass there by skipping.
const EnvRequireCgroup2 = "NOMADISH_REQUIRE_CGROUP2"

// requireCgroupV2 skips the test unless /sys/fs/cgroup is the unified
// (v2 only) hierarchy. Hybrid hosts, like this project's CI machine, run
// the v1 path; e2e/cgroupv2 runs these tests in a cgroup v2 VM.
func requireCgroupV2(t *testing.T) {
	t.Helper()
	if cgroups.Mode() == cgroups.Unified {
		return
	}
	if os.Getenv(EnvRequireCgroup2) != "" {
		t.Fatalf("/sys/fs/cgroup is not cgroup v2 only (mode %v) and %s is set", cgroups.Mode(), EnvRequireCgroup2)
	}
	t.Skip("needs a cgroup v2 only host; e2e/cgroupv2 runs this test in a VM")
}

// taskCgroupDir is the task's cgroup directory on a cgroup v2 host.
func taskCgroupDir(taskID string) string {
	return filepath.Join("/sys/fs/cgroup/nomadish", strings.NewReplacer("/", "-").Replace(taskID))
}

func readCgroupFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return strings.TrimSpace(string(b))
}

// waitGone polls until path no longer exists.
func waitGone(t *testing.T, path string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		_, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still exists %v later (stat: %v)", path, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitExit(t *testing.T, d drivers.DriverPlugin, id string, timeout time.Duration) *drivers.ExitResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ch, err := d.WaitTask(ctx, id)
	if err != nil {
		t.Fatalf("WaitTask() = %v", err)
	}
	select {
	case res := <-ch:
		if res == nil {
			t.Fatalf("WaitTask() closed without a result")
		}
		return res
	case <-ctx.Done():
		t.Fatalf("task did not exit within %v", timeout)
	}
	return nil
}

func TestCgroupV2Fingerprint(t *testing.T) {
	requireCgroupV2(t)
	d, client := launch(t)
	defer client.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ch, err := d.Fingerprint(ctx)
	if err != nil {
		t.Fatalf("Fingerprint() = %v", err)
	}
	fp := <-ch
	if fp == nil || fp.Health != drivers.HealthStateHealthy {
		t.Fatalf("Fingerprint() = %+v, want healthy", fp)
	}
	if got := fp.Attributes["driver.exec.cgroups"]; got != "v2" {
		t.Errorf("attribute driver.exec.cgroups = %q, want v2", got)
	}
}

// TestCgroupV2Limits checks the files the v2 path writes, the stats it
// reads back for a busy task, and that the cgroup goes with the task.
func TestCgroupV2Limits(t *testing.T) {
	requireCgroupV2(t)
	d, client := launch(t)
	defer client.Kill()
	tests := []struct {
		name string
		res  drivers.Resources
		want map[string]string
	}{
		{
			name: "memory_max",
			res:  drivers.Resources{CPUShares: 500, MemoryMB: 64, MemoryMaxMB: 96},
			want: map[string]string{
				"memory.max":  strconv.Itoa(96 << 20),
				"memory.low":  strconv.Itoa(64 << 20),
				"memory.high": "max",
				// 1 + (500-2)*9999/262142, the v1 shares mapped onto v2 weights.
				"cpu.weight": "19",
			},
		},
		{
			name: "memory only",
			res:  drivers.Resources{CPUShares: 2048, MemoryMB: 48},
			want: map[string]string{
				"memory.max": strconv.Itoa(48 << 20),
				"memory.low": "0",
				"cpu.weight": "79",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cfg := drivertest.NewTaskConfig(t, shellTask(`echo ready; while :; do :; done`))
			res := tc.res
			cfg.Resources = &res
			if _, err := d.StartTask(ctx, cfg); err != nil {
				t.Fatalf("StartTask() = %v", err)
			}
			defer d.DestroyTask(context.Background(), cfg.ID, true)
			dir := taskCgroupDir(cfg.ID)
			for name, want := range tc.want {
				if got := readCgroupFile(t, dir, name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			// No swap: memory.max is the whole budget, as memory+swap is on v1.
			if _, err := os.Stat(filepath.Join(dir, "memory.swap.max")); err == nil {
				if got := readCgroupFile(t, dir, "memory.swap.max"); got != "0" {
					t.Errorf("memory.swap.max = %q, want 0", got)
				}
			}
			if procs := readCgroupFile(t, dir, "cgroup.procs"); procs == "" {
				t.Errorf("cgroup.procs is empty, want the task's processes")
			}

			stats, err := d.TaskStats(ctx, cfg.ID, 300*time.Millisecond)
			if err != nil {
				t.Fatalf("TaskStats() = %v", err)
			}
			var last *drivers.TaskResourceUsage
			for u := range stats {
				last = u
				if u.CPUPercent > 10 && u.CPUTotalTicks > 0 && u.MemoryUsage > 0 && u.MemoryRSS > 0 {
					break
				}
			}
			if last == nil || last.CPUPercent <= 10 || last.CPUTotalTicks <= 0 || last.MemoryUsage == 0 || last.MemoryRSS == 0 {
				t.Fatalf("TaskStats() of a busy task = %+v, want cpu percent > 10, cpu ticks, memory usage and rss", last)
			}
			t.Logf("stats: cpu %.0f%% (user %.0f%%, system %.0f%%), %.1f ticks, usage %d, rss %d, max usage %d",
				last.CPUPercent, last.CPUUserMode, last.CPUSystemMode, last.CPUTotalTicks, last.MemoryUsage, last.MemoryRSS, last.MemoryMaxUsage)

			if err := d.DestroyTask(ctx, cfg.ID, true); err != nil {
				t.Fatalf("DestroyTask(force) = %v, want nil", err)
			}
			waitGone(t, dir, 10*time.Second)
		})
	}
}

// TestCgroupV2OOMKill runs a task past memory.max: the kernel kills it,
// the exit result says so (from memory.events oom_kill), and the cgroup
// is removed.
func TestCgroupV2OOMKill(t *testing.T) {
	requireCgroupV2(t)
	d, client := launch(t)
	defer client.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := drivertest.NewTaskConfig(t, shellTask(`echo start; x=$(head -c 200000000 /dev/zero | tr '\0' a); echo survived`))
	cfg.Resources = &drivers.Resources{CPUShares: 100, MemoryMB: 32}
	if _, err := d.StartTask(ctx, cfg); err != nil {
		t.Fatalf("StartTask() = %v", err)
	}
	defer d.DestroyTask(context.Background(), cfg.ID, true)
	res := waitExit(t, d, cfg.ID, 60*time.Second)
	if !res.OOMKilled || res.Signal != 9 || res.ExitCode != 137 {
		t.Errorf("exit = %+v, want OOMKilled by signal 9, exit code 137", res)
	}
	if out, _ := os.ReadFile(cfg.StdoutPath); strings.Contains(string(out), "survived") {
		t.Errorf("task output = %q, want it killed before the end", out)
	}
	waitGone(t, taskCgroupDir(cfg.ID), 10*time.Second)
	if err := d.DestroyTask(ctx, cfg.ID, false); err != nil {
		t.Errorf("DestroyTask() after exit = %v, want nil", err)
	}
}

// TestCgroupV2CleanExit checks that a task that exits by itself leaves no
// cgroup and that destroying it then is quiet.
func TestCgroupV2CleanExit(t *testing.T) {
	requireCgroupV2(t)
	d, client := launch(t)
	defer client.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := drivertest.NewTaskConfig(t, shellTask(`sleep 0.2; exit 3`))
	if _, err := d.StartTask(ctx, cfg); err != nil {
		t.Fatalf("StartTask() = %v", err)
	}
	res := waitExit(t, d, cfg.ID, 30*time.Second)
	if res.ExitCode != 3 || res.OOMKilled {
		t.Errorf("exit = %+v, want code 3, not OOM killed", res)
	}
	waitGone(t, taskCgroupDir(cfg.ID), 10*time.Second)
	if err := d.DestroyTask(ctx, cfg.ID, false); err != nil {
		t.Errorf("DestroyTask() after exit = %v, want nil", err)
	}
}
