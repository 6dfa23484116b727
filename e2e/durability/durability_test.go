//go:build e2e

// Package durability tests that a client keeps its tasks running through
// its own kill -9 and restart, and through the loss of its servers.
package durability

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

const rawExec = `
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`

type taskEvent struct {
	Type string
	Time int64
}

type taskState struct {
	State    string
	Restarts uint64
	Events   []taskEvent
}

type alloc struct {
	ID            string
	NodeID        string
	ClientStatus  string
	DesiredStatus string
	TaskStates    map[string]taskState
}

func runJob(t *testing.T, a *e2eutil.Agent) alloc {
	t.Helper()
	if out, errOut, code := a.CLI("job", "run", "-detach", "input/durable.nomad.hcl"); code != 0 {
		t.Fatalf("job run = %d\n%s\n%s", code, out, errOut)
	}
	return runningAlloc(t, a, 60*time.Second)
}

// runningAlloc waits until the servers see the job's one allocation running.
func runningAlloc(t *testing.T, a *e2eutil.Agent, d time.Duration) alloc {
	t.Helper()
	var got alloc
	e2eutil.WaitFor(t, d, func() error {
		var stubs []alloc
		if err := a.GetJSON("/v1/job/durable/allocations", &stubs); err != nil {
			return err
		}
		var live []alloc
		for _, s := range stubs {
			if s.DesiredStatus == "run" {
				live = append(live, s)
			}
		}
		if len(live) != 1 || live[0].ClientStatus != "running" {
			return fmt.Errorf("allocations = %+v, want one running", stubs)
		}
		return a.GetJSON("/v1/allocation/"+live[0].ID, &got)
	})
	return got
}

// taskPID reads the pid the task wrote and its start time in clock ticks.
func taskPID(t *testing.T, a *e2eutil.Agent, allocID string) (int, string) {
	t.Helper()
	var pid int
	e2eutil.WaitFor(t, 20*time.Second, func() error {
		code, body, err := a.Get("/v1/client/fs/cat/" + allocID + "?path=alloc/data/pid.web")
		if err != nil {
			return err
		}
		if code != 200 {
			return fmt.Errorf("read pid file: %d %s", code, body)
		}
		pid, err = strconv.Atoi(strings.TrimSpace(body))
		return err
	})
	return pid, startTime(t, pid)
}

func startTime(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("task process %d is gone: %v", pid, err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if f[0] == "Z" {
		t.Fatalf("task process %d is a zombie", pid)
	}
	return f[19]
}

// parent returns a process's parent pid, or 0 once it is gone.
func parent(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

func countEvents(ts taskState, types ...string) int {
	n := 0
	for _, e := range ts.Events {
		for _, typ := range types {
			if e.Type == typ {
				n++
			}
		}
	}
	return n
}

// attached waits until the client agent serves the allocation again, which
// it does only once it has restored it and re-attached to its task.
func attached(t *testing.T, a *e2eutil.Agent, allocID string) {
	t.Helper()
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		var usage struct{ Tasks map[string]interface{} }
		if err := a.GetJSON("/v1/client/allocation/"+allocID+"/stats", &usage); err != nil {
			return err
		}
		if _, ok := usage.Tasks["web"]; !ok {
			return fmt.Errorf("no stats for web yet")
		}
		return nil
	})
}

// TestKill9ClientTenTimes kills a server+client agent with SIGKILL ten
// times in a row around a running raw_exec service task, restarting it on
// the same data dir each time, and checks that the task was never
// restarted: same process, Restarts 0, no new Started or Restarting event.
func TestKill9ClientTenTimes(t *testing.T) {
	ports := e2eutil.FreePorts(t, 3)
	dataDir := filepath.Join(t.TempDir(), "data")
	cfg := `name = "durable"
server {
  enabled          = true
  bootstrap_expect = 1
}
client {
  enabled = true
}
` + rawExec
	start := func() *e2eutil.Agent {
		return e2eutil.StartAgent(t, e2eutil.AgentOptions{Config: cfg, Ports: ports, DataDir: dataDir})
	}
	a := start()
	first := runJob(t, a)
	attached(t, a, first.ID)
	pid, tick := taskPID(t, a, first.ID)
	if n := countEvents(first.TaskStates["web"], "Started"); n != 1 {
		t.Fatalf("Started events before the kills = %d, want 1", n)
	}

	for i := 0; i < 10; i++ {
		a.Kill()
		if got := startTime(t, pid); got != tick {
			t.Fatalf("kill %d: task process %d start time %s, want %s", i+1, pid, got, tick)
		}
		a = start()
		// Every other round is killed as soon as its API answers, before it
		// has settled; the others once the client has re-attached.
		if i%2 == 1 {
			attached(t, a, first.ID)
		}
	}
	attached(t, a, first.ID)
	now := runningAlloc(t, a, 60*time.Second)
	if now.ID != first.ID {
		t.Fatalf("running allocation = %s, want %s", now.ID, first.ID)
	}
	if got := startTime(t, pid); got != tick {
		t.Errorf("task process %d start time %s, want %s (restarted)", pid, got, tick)
	}
	if p, _ := taskPID(t, a, first.ID); p != pid {
		t.Errorf("task pid = %d, want %d", p, pid)
	}
	ts := now.TaskStates["web"]
	if ts.Restarts != 0 || ts.State != "running" {
		t.Errorf("task state = %s, restarts %d, want running, 0", ts.State, ts.Restarts)
	}
	if n := countEvents(ts, "Started"); n != 1 {
		t.Errorf("Started events = %d, want 1: %+v", n, ts.Events)
	}
	if n := countEvents(ts, "Restarting", "Terminated", "Killing", "Killed"); n != 0 {
		t.Errorf("restart or kill events = %d, want 0: %+v", n, ts.Events)
	}
	code, logs, err := a.Get("/v1/client/fs/logs/" + first.ID + "?task=web&type=stdout&plain=true")
	if err != nil || code != 200 || strings.Count(logs, "started ") != 1 {
		t.Errorf("task stdout = %d %q (%v), want one \"started\" line", code, logs, err)
	}
	if shells := e2eutil.ProcessesWithEnv("NOMAD_ALLOC_ID=" + first.ID); len(shells) == 0 {
		t.Errorf("no process of the allocation runs")
	}
	for _, p := range e2eutil.ProcessesWithEnv("NOMAD_ALLOC_ID=" + first.ID) {
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
		// The shell's own children are /bin/sh for a moment before they
		// exec sleep; only a shell of another parent is a second task.
		if strings.HasPrefix(string(cmd), "/bin/sh\x00") && p != pid && parent(p) != pid {
			t.Errorf("a second task shell %d runs beside %d", p, pid)
		}
	}
}

// TestTasksRunWithoutServers stops the only server under a client: the task
// keeps running, and when the server is back the client's status reaches
// it again.
func TestTasksRunWithoutServers(t *testing.T) {
	sports := e2eutil.FreePorts(t, 3)
	sdata := filepath.Join(t.TempDir(), "server")
	scfg := `name = "lonely-server"
server {
  enabled          = true
  bootstrap_expect = 1
}
`
	srv := e2eutil.StartAgent(t, e2eutil.AgentOptions{Config: scfg, Ports: sports, DataDir: sdata})
	cl := e2eutil.StartAgent(t, e2eutil.AgentOptions{Config: fmt.Sprintf(`name = "lonely-client"
client {
  enabled = true
  servers = ["127.0.0.1:%d"]
}
`, sports[1]) + rawExec})
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		var nodes []struct{ Status string }
		if err := srv.GetJSON("/v1/nodes", &nodes); err != nil {
			return err
		}
		if len(nodes) != 1 || nodes[0].Status != "ready" {
			return fmt.Errorf("nodes = %+v", nodes)
		}
		return nil
	})
	first := runJob(t, srv)
	pid, tick := taskPID(t, cl, first.ID)

	srv.Kill()
	// Longer than a heartbeat TTL: the client retries, the task runs on.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if got := startTime(t, pid); got != tick {
			t.Fatalf("task restarted while the server was away")
		}
		if cl.Exited() {
			t.Fatalf("client agent exited without its server")
		}
		time.Sleep(500 * time.Millisecond)
	}
	attached(t, cl, first.ID)

	srv = e2eutil.StartAgent(t, e2eutil.AgentOptions{Config: scfg, Ports: sports, DataDir: sdata})
	now := runningAlloc(t, srv, 60*time.Second)
	if now.ID != first.ID {
		t.Fatalf("running allocation = %s, want %s", now.ID, first.ID)
	}
	if got := startTime(t, pid); got != tick {
		t.Errorf("task restarted across the server's absence")
	}

	// Status flows again: a crash of the task is restarted by the client
	// and the server hears of it.
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill task: %v", err)
	}
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		var a alloc
		if err := srv.GetJSON("/v1/allocation/"+first.ID, &a); err != nil {
			return err
		}
		ts := a.TaskStates["web"]
		if ts.Restarts < 1 || ts.State != "running" {
			return fmt.Errorf("task state %s restarts %d", ts.State, ts.Restarts)
		}
		return nil
	})
	var nodes []struct{ Status string }
	if err := srv.GetJSON("/v1/nodes", &nodes); err != nil || len(nodes) != 1 || nodes[0].Status != "ready" {
		t.Errorf("nodes after the server returned = %+v, %v, want one ready", nodes, err)
	}
}
