//go:build e2e

package durability

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

type logFile struct {
	Name string
	Size int64
}

// rotated lists the task's stdout files by index.
func rotated(t *testing.T, a *e2eutil.Agent, allocID string) []logFile {
	t.Helper()
	code, body, err := a.Get("/v1/client/fs/ls/" + allocID + "?path=alloc/logs")
	if err != nil || code != 200 {
		t.Fatalf("ls alloc/logs = %d %s %v", code, body, err)
	}
	var all []logFile
	if err := json.Unmarshal([]byte(body), &all); err != nil {
		t.Fatalf("decode ls: %v", err)
	}
	var out []logFile
	for _, f := range all {
		if strings.HasPrefix(f.Name, "talk.stdout.") {
			out = append(out, f)
		}
	}
	idx := func(f logFile) int {
		n, _ := strconv.Atoi(strings.TrimPrefix(f.Name, "talk.stdout."))
		return n
	}
	sort.Slice(out, func(i, j int) bool { return idx(out[i]) < idx(out[j]) })
	return out
}

// TestLogRotationThroughClientKill runs a task that writes about 1 MB/s
// with logs { max_files = 3, max_file_size = 1 }, kills the client agent
// with SIGKILL in the middle, and checks that at most three files of at
// most 1 MiB are kept and that the kept output has no gap.
func TestLogRotationThroughClientKill(t *testing.T) {
	ports := e2eutil.FreePorts(t, 3)
	dataDir := filepath.Join(t.TempDir(), "data")
	cfg := `name = "chatty"
server {
  enabled          = true
  bootstrap_expect = 1
}
client {
  enabled = true
}
` + rawExec
	a := e2eutil.StartAgent(t, e2eutil.AgentOptions{Config: cfg, Ports: ports, DataDir: dataDir})
	if out, errOut, code := a.CLI("job", "run", "-detach", "input/chatty.nomad.hcl"); code != 0 {
		t.Fatalf("job run = %d\n%s\n%s", code, out, errOut)
	}
	var allocID string
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		var stubs []alloc
		if err := a.GetJSON("/v1/job/chatty/allocations", &stubs); err != nil {
			return err
		}
		if len(stubs) != 1 || stubs[0].ClientStatus != "running" {
			return fmt.Errorf("allocations = %+v", stubs)
		}
		allocID = stubs[0].ID
		return nil
	})
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		if fs := rotated(t, a, allocID); len(fs) < 2 {
			return fmt.Errorf("stdout files = %+v, want a rotation", fs)
		}
		return nil
	})
	a.Kill()
	time.Sleep(1500 * time.Millisecond)
	a = e2eutil.StartAgent(t, e2eutil.AgentOptions{Config: cfg, Ports: ports, DataDir: dataDir})
	attachedTask(t, a, allocID, "talk")
	before := rotated(t, a, allocID)
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		now := rotated(t, a, allocID)
		if now[len(now)-1].Name == before[len(before)-1].Name {
			return fmt.Errorf("no rotation since the restart: %+v", now)
		}
		return nil
	})
	if out, errOut, code := a.CLI("job", "stop", "-detach", "chatty"); code != 0 {
		t.Fatalf("job stop = %d\n%s\n%s", code, out, errOut)
	}
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		var al alloc
		if err := a.GetJSON("/v1/allocation/"+allocID, &al); err != nil {
			return err
		}
		if al.ClientStatus != "complete" {
			return fmt.Errorf("client status %s", al.ClientStatus)
		}
		return nil
	})

	files := rotated(t, a, allocID)
	if len(files) != 3 {
		t.Errorf("stdout files = %+v, want 3", files)
	}
	var all strings.Builder
	for _, f := range files {
		if f.Size > 1<<20 {
			t.Errorf("%s is %d bytes, want at most 1 MiB", f.Name, f.Size)
		}
		code, body, err := a.Get("/v1/client/fs/cat/" + allocID + "?path=alloc/logs/" + f.Name)
		if err != nil || code != 200 {
			t.Fatalf("cat %s = %d %v", f.Name, code, err)
		}
		all.WriteString(body)
	}
	lines := strings.Split(strings.TrimSuffix(all.String(), "\n"), "\n")
	// The oldest file may begin inside a line.
	prev := -1
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 3 || f[0] != "line" {
			t.Fatalf("malformed line %q", l)
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatalf("malformed line %q", l)
		}
		if prev >= 0 && n != prev+1 {
			t.Fatalf("line %d follows line %d: output was lost", n, prev)
		}
		prev = n
	}
	if prev < 20000 {
		t.Errorf("last line %d, want the task to have written on", prev)
	}
}

// attachedTask waits until the client serves a task's stats again.
func attachedTask(t *testing.T, a *e2eutil.Agent, allocID, task string) {
	t.Helper()
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		var usage struct{ Tasks map[string]interface{} }
		if err := a.GetJSON("/v1/client/allocation/"+allocID+"/stats", &usage); err != nil {
			return err
		}
		if _, ok := usage.Tasks[task]; !ok {
			return fmt.Errorf("no stats for %s yet", task)
		}
		return nil
	})
}
