//go:build e2e

package cgroupv2

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

// envGuest is set by the VM's init: the tests in this file run only there.
const envGuest = "NOMADISH_CGROUPV2_GUEST"

type allocStub struct {
	ID, ClientStatus, DesiredStatus string
}

type allocDetail struct {
	ID         string
	TaskStates map[string]struct {
		State  string
		Events []struct {
			Type, DisplayMessage string
			Details              map[string]string
		}
	}
}

type allocStats struct {
	ResourceUsage struct {
		MemoryStats struct{ RSS, Usage, MaxUsage uint64 }
		CpuStats    struct{ Percent, TotalTicks float64 }
	}
}

func requireGuest(t *testing.T) {
	t.Helper()
	if os.Getenv(envGuest) == "" {
		t.Skip("runs inside the cgroup v2 VM that TestCgroupV2 boots")
	}
}

// jobAlloc waits until job has an allocation for which ok is true.
func jobAlloc(t *testing.T, a *e2eutil.Agent, job string, timeout time.Duration, ok func(allocStub) bool) allocStub {
	t.Helper()
	var got allocStub
	e2eutil.WaitFor(t, timeout, func() error {
		var allocs []allocStub
		if err := a.GetJSON("/v1/job/"+job+"/allocations", &allocs); err != nil {
			return err
		}
		for _, al := range allocs {
			if ok(al) {
				got = al
				return nil
			}
		}
		return fmt.Errorf("allocations of %s: %+v", job, allocs)
	})
	return got
}

func runJob(t *testing.T, a *e2eutil.Agent, file string) {
	t.Helper()
	if out, errOut, code := a.CLI("job", "run", "-detach", file); code != 0 {
		t.Fatalf("job run %s = %d\n%s%s", file, code, out, errOut)
	}
}

// TestGuestAgent drives the exec driver's cgroup v2 path through a dev
// agent: the node's driver fingerprint, a task's cgroup files and stats
// through the API, the cgroup's removal when the job stops, and the
// "OOM Killed" task event.
func TestGuestAgent(t *testing.T) {
	requireGuest(t)
	a := e2eutil.StartDevAgent(t, "")

	var nodes []struct{ ID string }
	if err := a.GetJSON("/v1/nodes", &nodes); err != nil || len(nodes) != 1 {
		t.Fatalf("GET /v1/nodes = %v, %v, want one node", nodes, err)
	}
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		var node struct {
			Drivers map[string]struct {
				Healthy           bool
				HealthDescription string
				Attributes        map[string]string
			}
		}
		if err := a.GetJSON("/v1/node/"+nodes[0].ID, &node); err != nil {
			return err
		}
		d := node.Drivers["exec"]
		if !d.Healthy || d.Attributes["driver.exec.cgroups"] != "v2" {
			return fmt.Errorf("exec driver = %+v, want healthy with driver.exec.cgroups = v2", d)
		}
		return nil
	})
	// memory_max reaches the task only with memory oversubscription, as in Nomad.
	if out, errOut, code := a.CLI("operator", "scheduler", "set-config", "-memory-oversubscription=true"); code != 0 {
		t.Fatalf("set-config = %d\n%s%s", code, out, errOut)
	}

	t.Run("limits stats and cleanup", func(t *testing.T) {
		runJob(t, a, "input/spin.nomad.hcl")
		al := jobAlloc(t, a, "spin", 60*time.Second, func(s allocStub) bool { return s.ClientStatus == "running" })
		var dir string
		e2eutil.WaitFor(t, 10*time.Second, func() error {
			m, _ := filepath.Glob("/sys/fs/cgroup/nomadish/" + al.ID + "-spin-*")
			if len(m) != 1 {
				return fmt.Errorf("cgroups of the task: %v, want one", m)
			}
			dir = m[0]
			return nil
		})
		want := map[string]string{
			"memory.max":      strconv.Itoa(96 << 20),
			"memory.low":      strconv.Itoa(64 << 20),
			"memory.swap.max": "0",
			"cpu.weight":      "19",
		}
		for name, w := range want {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if got := strings.TrimSpace(string(b)); err != nil || got != w {
				t.Errorf("%s = %q, %v, want %q", name, got, err, w)
			}
		}

		var st allocStats
		e2eutil.WaitFor(t, 30*time.Second, func() error {
			if err := a.GetJSON("/v1/client/allocation/"+al.ID+"/stats", &st); err != nil {
				return err
			}
			u := st.ResourceUsage
			if u.CpuStats.Percent < 10 || u.CpuStats.TotalTicks == 0 || u.MemoryStats.Usage == 0 || u.MemoryStats.RSS == 0 {
				return fmt.Errorf("stats = %+v, want cpu percent > 10, cpu ticks, memory usage and rss", u)
			}
			return nil
		})
		t.Logf("alloc stats: %+v", st.ResourceUsage)

		if out, errOut, code := a.CLI("job", "stop", "-detach", "spin"); code != 0 {
			t.Fatalf("job stop = %d\n%s%s", code, out, errOut)
		}
		jobAlloc(t, a, "spin", 60*time.Second, func(s allocStub) bool { return s.ID == al.ID && s.ClientStatus == "complete" })
		e2eutil.WaitFor(t, 10*time.Second, func() error {
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				return fmt.Errorf("%s still there (stat: %v)", dir, err)
			}
			return nil
		})
	})

	t.Run("OOM Killed event", func(t *testing.T) {
		runJob(t, a, "input/oom.nomad.hcl")
		al := jobAlloc(t, a, "oom", 90*time.Second, func(s allocStub) bool { return s.ClientStatus == "failed" })
		var d allocDetail
		if err := a.GetJSON("/v1/allocation/"+al.ID, &d); err != nil {
			t.Fatalf("GET allocation: %v", err)
		}
		var msgs []string
		found := false
		for _, ev := range d.TaskStates["hog"].Events {
			msgs = append(msgs, ev.Type+": "+ev.DisplayMessage)
			if ev.Type == "Terminated" && strings.Contains(ev.DisplayMessage, "OOM Killed") && ev.Details["oom_killed"] == "true" {
				found = true
			}
		}
		if !found {
			t.Errorf("events of task hog = %q, want a Terminated event saying OOM Killed", msgs)
		}
		t.Logf("events: %q", msgs)
		if m, _ := filepath.Glob("/sys/fs/cgroup/nomadish/" + al.ID + "-*"); len(m) != 0 {
			t.Errorf("cgroups left after the task died: %v", m)
		}
	})
}
