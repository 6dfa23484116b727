//go:build e2e

package clientops

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

// TestNomadAPIClient drives the client operations with Nomad's own api
// package, so paths, verbs, JSON and the exec frames are Nomad's.
func TestNomadAPIClient(t *testing.T) {
	a := e2eutil.StartDevAgent(t, "")
	if out, errOut, code := a.CLI("job", "run", "-detach", "input/ops.nomad.hcl"); code != 0 {
		t.Fatalf("job run = %d\n%s\n%s", code, out, errOut)
	}
	stub := runningAlloc(t, a, "ops")
	c, err := nomadapi.NewClient(&nomadapi.Config{Address: a.Addr})
	if err != nil {
		t.Fatal(err)
	}
	alloc := &nomadapi.Allocation{ID: stub.ID, NodeID: stub.NodeID, Namespace: "default", TaskGroup: "ops"}

	e2eutil.WaitFor(t, 20*time.Second, func() error {
		_, _, err := c.AllocFS().Stat(alloc, "alloc/data/marker", nil)
		return err
	})
	files, _, err := c.AllocFS().List(alloc, "/", nil)
	if err != nil {
		t.Fatalf("AllocFS().List() error = %v", err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); !strings.Contains(got, "alloc") || !strings.Contains(got, "web") {
		t.Errorf("AllocFS().List(/) = %s, want alloc and web", got)
	}
	rc, err := c.AllocFS().Cat(alloc, "alloc/data/marker", nil)
	if err != nil {
		t.Fatalf("AllocFS().Cat() error = %v", err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if strings.TrimSpace(string(b)) != "marker-"+stub.ID {
		t.Errorf("AllocFS().Cat() = %q", b)
	}
	if _, _, err := c.AllocFS().Stat(alloc, "web/local/escape/passwd", nil); err == nil {
		t.Errorf("AllocFS().Stat() through a symlink out error = nil, want an error")
	}

	usage, err := c.Allocations().Stats(alloc, nil)
	if err != nil || usage.Tasks["web"] == nil || usage.Tasks["web"].ResourceUsage.MemoryStats == nil {
		t.Errorf("Allocations().Stats() = %+v, %v, want web's usage", usage, err)
	}

	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, err := c.Allocations().Exec(ctx, alloc, "web", false, []string{"/bin/sh", "-c", "echo out-$NOMAD_TASK_NAME; echo err >&2; exit 4"},
		strings.NewReader(""), &stdout, &stderr, nil, nil)
	if err != nil || code != 4 || strings.TrimSpace(stdout.String()) != "out-web" || strings.TrimSpace(stderr.String()) != "err" {
		t.Errorf("Allocations().Exec() = %d, %v, stdout %q, stderr %q, want 4, nil, out-web, err", code, err, stdout.String(), stderr.String())
	}

	// On a terminal, with its size and input streamed.
	stdout.Reset()
	sizes := make(chan nomadapi.TerminalSize, 1)
	sizes <- nomadapi.TerminalSize{Height: 40, Width: 120}
	pr, pw := io.Pipe()
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, _ = io.WriteString(pw, "typed\n")
		pw.Close()
	}()
	code, err = c.Allocations().Exec(ctx, alloc, "web", true, []string{"/bin/sh", "-c", "tty; read x; stty size; echo got-$x"},
		pr, &stdout, &stderr, sizes, nil)
	if err != nil || code != 0 || !strings.Contains(stdout.String(), "/dev/pts/") || !strings.Contains(stdout.String(), "40 120") || !strings.Contains(stdout.String(), "got-typed") {
		t.Errorf("Allocations().Exec(tty) = %d, %v, stdout %q, want a terminal of 40x120 that read the input", code, err, stdout.String())
	}

	if err := c.Allocations().Signal(alloc, nil, "web", "SIGUSR1"); err != nil {
		t.Errorf("Allocations().Signal() error = %v", err)
	}
	if err := c.Allocations().Restart(alloc, "web", nil); err != nil {
		t.Errorf("Allocations().Restart() error = %v", err)
	}
	if err := c.Allocations().Restart(alloc, "nope", nil); err == nil {
		t.Errorf("Allocations().Restart(unknown task) error = nil, want an error")
	}
	stop, err := c.Allocations().Stop(alloc, nil)
	if err != nil || stop.EvalID == "" || stop.LastIndex == 0 {
		t.Errorf("Allocations().Stop() = %+v, %v, want an eval and an index", stop, err)
	}

	drain, err := c.Nodes().UpdateDrain(stub.NodeID, &nomadapi.DrainSpec{Deadline: time.Minute, IgnoreSystemJobs: true}, false, nil)
	if err != nil || drain.NodeModifyIndex == 0 {
		t.Fatalf("Nodes().UpdateDrain() = %+v, %v", drain, err)
	}
	node, _, err := c.Nodes().Info(stub.NodeID, nil)
	if err == nil && (node.DrainStrategy == nil || !node.DrainStrategy.IgnoreSystemJobs) {
		t.Errorf("node drain strategy = %+v, want one ignoring system jobs", node.DrainStrategy)
	}
	if _, err := c.Nodes().UpdateDrain(stub.NodeID, nil, true, nil); err != nil {
		t.Errorf("Nodes().UpdateDrain(nil) error = %v", err)
	}
	if _, err := c.Nodes().ToggleEligibility(stub.NodeID, false, nil); err != nil {
		t.Errorf("Nodes().ToggleEligibility(false) error = %v", err)
	}
	if _, err := c.Nodes().ToggleEligibility(stub.NodeID, true, nil); err != nil {
		t.Errorf("Nodes().ToggleEligibility(true) error = %v", err)
	}
}
