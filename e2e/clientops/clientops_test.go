//go:build e2e

// Package clientops tests the allocation and node operations of a client
// against a real agent and real task processes.
package clientops

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

type allocStub struct {
	ID                 string
	ClientStatus       string
	DesiredStatus      string
	PreviousAllocation string
	NodeID             string
}

type taskState struct {
	State    string
	Restarts uint64
	Events   []struct{ Type string }
}

type allocDetail struct {
	allocStub
	TaskStates map[string]taskState
}

func runningAlloc(t *testing.T, a *e2eutil.Agent, job string) allocStub {
	t.Helper()
	var got allocStub
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		var allocs []allocStub
		if err := a.GetJSON("/v1/job/"+job+"/allocations", &allocs); err != nil {
			return err
		}
		for _, al := range allocs {
			if al.DesiredStatus == "run" && al.ClientStatus == "running" {
				got = al
				return nil
			}
		}
		return fmt.Errorf("no running allocation of %s: %+v", job, allocs)
	})
	return got
}

func TestAllocOperations(t *testing.T) {
	a := e2eutil.StartDevAgent(t, "")
	if out, errOut, code := a.CLI("job", "run", "-detach", "input/ops.nomad.hcl"); code != 0 {
		t.Fatalf("job run = %d\n%s\n%s", code, out, errOut)
	}
	alloc := runningAlloc(t, a, "ops")
	e2eutil.WaitFor(t, 20*time.Second, func() error {
		code, body, err := a.Get("/v1/client/fs/cat/" + alloc.ID + "?path=alloc/data/marker")
		if err != nil || code != 200 {
			return fmt.Errorf("marker: %d %s %v", code, body, err)
		}
		return nil
	})

	t.Run("fs", func(t *testing.T) {
		tests := []struct {
			name     string
			path     string
			wantCode int
			wantBody string
		}{
			{name: "ls root", path: "/v1/client/fs/ls/" + alloc.ID + "?path=/", wantCode: 200, wantBody: `"Name":"alloc"`},
			{name: "ls task dir", path: "/v1/client/fs/ls/" + alloc.ID + "?path=web", wantCode: 200, wantBody: `"Name":"local"`},
			{name: "stat file", path: "/v1/client/fs/stat/" + alloc.ID + "?path=alloc/data/marker", wantCode: 200, wantBody: `"Name":"marker"`},
			{name: "cat file", path: "/v1/client/fs/cat/" + alloc.ID + "?path=alloc/data/marker", wantCode: 200, wantBody: "marker-" + alloc.ID},
			{name: "dot-dot stays inside", path: "/v1/client/fs/cat/" + alloc.ID + "?path=../../../../../../etc/passwd", wantCode: 404},
			{name: "dot-dot in ls stays inside", path: "/v1/client/fs/ls/" + alloc.ID + "?path=web/../../..", wantCode: 200, wantBody: `"Name":"alloc"`},
			{name: "symlink out is refused", path: "/v1/client/fs/cat/" + alloc.ID + "?path=web/local/escape/passwd", wantCode: 403},
			{name: "symlink dir out is refused", path: "/v1/client/fs/ls/" + alloc.ID + "?path=web/local/escape", wantCode: 403},
			{name: "symlink stat out is refused", path: "/v1/client/fs/stat/" + alloc.ID + "?path=web/local/escape/hostname", wantCode: 403},
			{name: "absolute path is inside", path: "/v1/client/fs/cat/" + alloc.ID + "?path=/etc/passwd", wantCode: 404},
			{name: "unknown alloc", path: "/v1/client/fs/ls/00000000-0000-0000-0000-000000000000?path=/", wantCode: 404},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				code, body, err := a.Get(tc.path)
				if err != nil {
					t.Fatalf("GET %s: %v", tc.path, err)
				}
				if code != tc.wantCode || !strings.Contains(body, tc.wantBody) || strings.Contains(body, "root:") {
					t.Errorf("GET %s = %d %q, want %d containing %q", tc.path, code, body, tc.wantCode, tc.wantBody)
				}
			})
		}
		out, errOut, code := a.CLI("alloc", "fs", alloc.ID[:8], "alloc/data")
		if code != 0 || !strings.Contains(out, "marker") {
			t.Errorf("alloc fs dir = %d %q %q", code, out, errOut)
		}
		out, errOut, code = a.CLI("alloc", "fs", alloc.ID[:8], "alloc/data/marker")
		if code != 0 || strings.TrimSpace(out) != "marker-"+alloc.ID {
			t.Errorf("alloc fs file = %d %q %q", code, out, errOut)
		}
		if out, errOut, code = a.CLI("alloc", "fs", alloc.ID[:8], "web/local/escape/passwd"); code == 0 || strings.Contains(out, "root:") {
			t.Errorf("alloc fs through symlink = %d %q %q, want an error", code, out, errOut)
		}
	})

	t.Run("signal", func(t *testing.T) {
		if out, errOut, code := a.CLI("alloc", "signal", "-s", "SIGUSR1", alloc.ID[:8], "web"); code != 0 {
			t.Fatalf("alloc signal = %d %q %q", code, out, errOut)
		}
		e2eutil.WaitFor(t, 10*time.Second, func() error {
			out, _, _ := a.CLI("alloc", "logs", alloc.ID[:8], "web")
			if !strings.Contains(out, "got-usr1") {
				return fmt.Errorf("logs = %q", out)
			}
			return nil
		})
		if _, _, code := a.CLI("alloc", "signal", "-s", "SIGUSR1", "-task", "nope", alloc.ID[:8]); code == 0 {
			t.Errorf("alloc signal to an unknown task exit = 0, want 1")
		}
	})

	t.Run("stats", func(t *testing.T) {
		var usage struct {
			Tasks map[string]struct {
				ResourceUsage struct{ MemoryStats struct{ RSS uint64 } }
			}
		}
		if err := a.GetJSON("/v1/client/allocation/"+alloc.ID+"/stats", &usage); err != nil {
			t.Fatalf("stats: %v", err)
		}
		if _, ok := usage.Tasks["web"]; !ok {
			t.Errorf("stats tasks = %+v, want web", usage.Tasks)
		}
		out, errOut, code := a.CLI("alloc", "status", "-stats", alloc.ID[:8])
		if code != 0 || !strings.Contains(out, "Task Resources") || !strings.Contains(out, "web") {
			t.Errorf("alloc status -stats = %d %q %q", code, out, errOut)
		}
	})

	t.Run("exec", func(t *testing.T) {
		tests := []struct {
			name     string
			cmd      []string
			wantCode int
			wantOut  string
		}{
			{name: "echo", cmd: []string{"/bin/sh", "-c", "echo in-$NOMAD_TASK_NAME"}, wantCode: 0, wantOut: "in-web"},
			{name: "exit code", cmd: []string{"/bin/sh", "-c", "exit 3"}, wantCode: 3},
			{name: "sees the task dir", cmd: []string{"/bin/cat", "../alloc/data/marker"}, wantCode: 0, wantOut: "marker-" + alloc.ID},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				args := append([]string{"alloc", "exec", "-i=false", "-t=false", alloc.ID[:8]}, tc.cmd...)
				out, errOut, code := a.CLI(args...)
				if code != tc.wantCode || !strings.Contains(out, tc.wantOut) {
					t.Errorf("alloc exec %v = %d %q %q, want %d %q", tc.cmd, code, out, errOut, tc.wantCode, tc.wantOut)
				}
			})
		}
	})

	t.Run("exec with stdin", func(t *testing.T) {
		cmd := exec.Command(a.Bin, "alloc", "exec", "-address", a.Addr, alloc.ID[:8], "/bin/sh", "-c", "tr a-z A-Z; echo done >&2")
		cmd.Stdin = strings.NewReader("piped input\n")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil || stdout.String() != "PIPED INPUT\n" || stderr.String() != "done\n" {
			t.Errorf("alloc exec with stdin = %v, stdout %q, stderr %q, want PIPED INPUT and done", err, stdout.String(), stderr.String())
		}
	})

	t.Run("restart", func(t *testing.T) {
		if out, errOut, code := a.CLI("alloc", "restart", "-task", "web", alloc.ID[:8]); code != 0 {
			t.Fatalf("alloc restart = %d %q %q", code, out, errOut)
		}
		e2eutil.WaitFor(t, 30*time.Second, func() error {
			var d allocDetail
			if err := a.GetJSON("/v1/allocation/"+alloc.ID, &d); err != nil {
				return err
			}
			ts := d.TaskStates["web"]
			restarted := false
			for _, e := range ts.Events {
				if e.Type == "Restarting" || e.Type == "Restart Signaled" {
					restarted = true
				}
			}
			if !restarted || ts.State != "running" {
				return fmt.Errorf("task state = %+v", ts)
			}
			return nil
		})
	})

	t.Run("stop", func(t *testing.T) {
		out, errOut, code := a.CLI("alloc", "stop", alloc.ID[:8])
		if code != 0 {
			t.Fatalf("alloc stop = %d %q %q", code, out, errOut)
		}
		e2eutil.WaitFor(t, 60*time.Second, func() error {
			repl := runningAlloc(t, a, "ops")
			if repl.ID == alloc.ID || repl.PreviousAllocation != alloc.ID {
				return fmt.Errorf("replacement = %+v", repl)
			}
			var old allocStub
			if err := a.GetJSON("/v1/allocation/"+alloc.ID, &old); err != nil {
				return err
			}
			if old.DesiredStatus != "stop" || old.ClientStatus != "complete" {
				return fmt.Errorf("stopped alloc = %+v", old)
			}
			return nil
		})
	})

	t.Run("drain and eligibility", func(t *testing.T) {
		cur := runningAlloc(t, a, "ops")
		// Without -detach the command follows the drain to its end.
		out, errOut, code := a.CLI("node", "drain", "-enable", "-yes", "-deadline", "30s", cur.NodeID[:8])
		if code != 0 || !strings.Contains(out, "marked for migration") || !strings.Contains(out, "drain complete") {
			t.Fatalf("node drain = %d %q %q, want it to follow the drain to completion", code, out, errOut)
		}
		// The only node drains: the allocation stops, its replacement waits.
		e2eutil.WaitFor(t, 60*time.Second, func() error {
			var n struct {
				Drain                 bool
				SchedulingEligibility string
			}
			if err := a.GetJSON("/v1/node/"+cur.NodeID, &n); err != nil {
				return err
			}
			var old allocStub
			if err := a.GetJSON("/v1/allocation/"+cur.ID, &old); err != nil {
				return err
			}
			if n.Drain || n.SchedulingEligibility != "ineligible" || old.ClientStatus != "complete" {
				return fmt.Errorf("node drain=%v eligibility=%s, alloc %+v", n.Drain, n.SchedulingEligibility, old)
			}
			return nil
		})
		if out, errOut, code := a.CLI("node", "eligibility", "-enable", cur.NodeID[:8]); code != 0 {
			t.Fatalf("node eligibility = %d %q %q", code, out, errOut)
		}
		back := runningAlloc(t, a, "ops")
		if back.ID == cur.ID {
			t.Errorf("running alloc after eligibility = %s, want a new one", back.ID)
		}
		if _, _, code := a.CLI("node", "drain", cur.NodeID[:8]); code == 0 {
			t.Errorf("node drain without -enable/-disable exit = 0, want 1")
		}
	})
}

func TestDrainDisableMarksEligible(t *testing.T) {
	a := e2eutil.StartDevAgent(t, "")
	var nodes []struct{ ID string }
	if err := a.GetJSON("/v1/nodes", &nodes); err != nil || len(nodes) != 1 {
		t.Fatalf("nodes = %v %v", nodes, err)
	}
	body, _ := json.Marshal(map[string]interface{}{"DrainSpec": map[string]interface{}{"Deadline": 0}})
	if code, out, err := a.Do("PUT", "/v1/node/"+nodes[0].ID+"/drain", string(body)); err != nil || code != 200 {
		t.Fatalf("PUT drain = %d %s %v", code, out, err)
	}
	if out, errOut, code := a.CLI("node", "drain", "-disable", nodes[0].ID); code != 0 {
		t.Fatalf("node drain -disable = %d %q %q", code, out, errOut)
	}
	var n struct{ SchedulingEligibility string }
	if err := a.GetJSON("/v1/node/"+nodes[0].ID, &n); err != nil || n.SchedulingEligibility != "eligible" {
		t.Errorf("eligibility after drain -disable = %q %v, want eligible", n.SchedulingEligibility, err)
	}
}
