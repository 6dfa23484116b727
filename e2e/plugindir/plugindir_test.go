//go:build e2e

// Package plugindir tests third-party driver plugins loaded from the
// agent's plugin_dir, and the check of task configs at the edge.
package plugindir

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

type allocStub struct {
	ID           string
	ClientStatus string
	TaskStates   map[string]struct {
		State  string
		Events []struct{ Type, DisplayMessage string }
	}
}

type nodeStub struct {
	ID      string
	Drivers map[string]struct{ Detected, Healthy bool }
}

// startAgentWithPlugin builds the mock_ext plugin into a plugin_dir and
// starts a dev agent that loads and configures it.
func startAgentWithPlugin(t *testing.T) *e2eutil.Agent {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "plugins")
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "mockext"), "github.com/nomadish/nomadish/drivers/mock/testdata/mockext")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build mockext: %v\n%s", err, out)
	}
	cfg := fmt.Sprintf("plugin_dir = %q\nplugin \"mock_ext\" {\n  config {\n    enabled = true\n  }\n}\n", dir)
	a := e2eutil.StartDevAgent(t, cfg)
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		var nodes []nodeStub
		if err := a.GetJSON("/v1/nodes", &nodes); err != nil {
			return err
		}
		if len(nodes) == 0 || !nodes[0].Drivers["mock_ext"].Healthy {
			return fmt.Errorf("mock_ext not healthy on a node yet: %+v", nodes)
		}
		return nil
	})
	return a
}

func TestPluginDirDriverRunsJob(t *testing.T) {
	a := startAgentWithPlugin(t)
	if _, errOut, code := a.CLI("job", "run", "-detach", "input/mockext.nomad.hcl"); code != 0 {
		t.Fatalf("job run mockext exit %d: %s", code, errOut)
	}
	var running allocStub
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		var allocs []allocStub
		if err := a.GetJSON("/v1/job/ext/allocations", &allocs); err != nil {
			return err
		}
		for _, al := range allocs {
			if al.ClientStatus == "running" && al.TaskStates["t"].State == "running" {
				running = al
				return nil
			}
		}
		return fmt.Errorf("no running alloc yet: %+v", allocs)
	})
	e2eutil.WaitFor(t, 10*time.Second, func() error {
		out, errOut, code := a.CLI("alloc", "logs", running.ID, "t")
		if code != 0 || !strings.Contains(out, "hello from mock_ext") {
			return fmt.Errorf("alloc logs = %d, %q, %q, want the plugin's output", code, out, errOut)
		}
		return nil
	})
	if _, errOut, code := a.CLI("job", "stop", "-detach", "ext"); code != 0 {
		t.Fatalf("job stop exit %d: %s", code, errOut)
	}
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		var al allocStub
		if err := a.GetJSON("/v1/allocation/"+running.ID, &al); err != nil {
			return err
		}
		if al.TaskStates["t"].State != "dead" {
			return fmt.Errorf("task state %q, want dead", al.TaskStates["t"].State)
		}
		return nil
	})
}

func TestBadTaskConfigNeverRegistered(t *testing.T) {
	a := startAgentWithPlugin(t)
	tests := []struct {
		name    string
		file    string
		job     string
		wantErr string
	}{
		{"wrong type", "input/badconfig.nomad.hcl", "bad", `group "web" -> task "api": config.args[0]: want string, got number`},
		{"unknown driver", "input/unknowndriver.nomad.hcl", "typo", `group "web" -> task "api": unknown driver "dokcer"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, errOut, code := a.CLI("job", "run", "-detach", tc.file); code == 0 || !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("job run %s = %d, %q, want failure containing %q", tc.file, code, errOut, tc.wantErr)
			}
			body, errOut, code := a.CLI("job", "run", "-output", tc.file)
			if code != 0 {
				t.Fatalf("job run -output %s = %d, %q", tc.file, code, errOut)
			}
			status, answer, err := a.Do("PUT", "/v1/validate/job", body)
			if err != nil {
				t.Fatal(err)
			}
			var vr struct {
				DriverConfigValidated bool
				Error                 string
			}
			if err := json.Unmarshal([]byte(answer), &vr); err != nil || status != 200 {
				t.Fatalf("PUT /v1/validate/job = %d %q, %v", status, answer, err)
			}
			if !strings.Contains(vr.Error, tc.wantErr) {
				t.Errorf("PUT /v1/validate/job Error = %q, want it to contain %q", vr.Error, tc.wantErr)
			}
			status, answer, err = a.Do("PUT", "/v1/jobs", body)
			if err != nil {
				t.Fatal(err)
			}
			if status != 400 || !strings.Contains(answer, tc.wantErr) {
				t.Errorf("PUT /v1/jobs = %d %q, want 400 containing %q", status, answer, tc.wantErr)
			}
			if code, _, _ := a.Get("/v1/job/" + tc.job); code != 404 {
				t.Errorf("GET /v1/job/%s = %d, want 404 (never registered)", tc.job, code)
			}
		})
	}
}
