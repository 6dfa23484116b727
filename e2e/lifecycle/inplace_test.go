//go:build e2e

package lifecycle

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

type inplaceAlloc struct {
	ID            string
	ClientStatus  string
	DesiredStatus string
	JobVersion    uint64
	TaskStates    map[string]struct {
		State    string
		Restarts int
		Events   []struct{ Type string }
	}
}

// TestMetaChangeUpdatesInPlace: a change to job, group and task meta is
// planned and applied as an in-place update. The raw_exec process keeps
// running (same PID, no restart), the allocation moves to the new job
// version, and the template re-renders with the new meta.
func TestMetaChangeUpdatesInPlace(t *testing.T) {
	a := e2eutil.StartDevAgent(t, "")
	job := input("inplace.nomad.hcl")
	if out, errOut, code := a.CLI("job", "run", "-detach", "-var", "build=1", job); code != 0 {
		t.Fatalf("job run exit = %d\n%s\n%s", code, out, errOut)
	}
	list := func() []inplaceAlloc {
		var allocs []inplaceAlloc
		if err := a.GetJSON("/v1/job/inplace/allocations", &allocs); err != nil {
			t.Fatalf("allocations: %v", err)
		}
		return allocs
	}
	cat := func(id string) string {
		code, body, err := a.Get("/v1/client/fs/cat/" + id + "?path=web/local/meta.txt")
		if err != nil || code != 200 {
			return fmt.Sprintf("error %d %v", code, err)
		}
		return body
	}
	var first inplaceAlloc
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		allocs := list()
		if len(allocs) != 1 || allocs[0].ClientStatus != "running" {
			return fmt.Errorf("allocations = %+v, want one running", allocs)
		}
		first = allocs[0]
		if got := cat(first.ID); got != "build=1 group=1 task=1\n" {
			return fmt.Errorf("meta.txt = %q", got)
		}
		return nil
	})
	pids := e2eutil.ProcessesWithEnv("NOMAD_ALLOC_ID=" + first.ID)
	if len(pids) == 0 {
		t.Fatalf("no process runs with NOMAD_ALLOC_ID=%s", first.ID)
	}

	// A task config change next to the meta is destructive: the plan says so.
	out, errOut, code := a.CLI("job", "plan", "-var", "build=2", "-var", `args=["301"]`, job)
	if code != 1 || !strings.Contains(out, "1 create/destroy update") {
		t.Errorf("job plan (meta and args) exit = %d, want 1 with a create/destroy update\n%s\n%s", code, out, errOut)
	}
	// Meta alone is an in-place update; the plan creates nothing (exit 0).
	out, errOut, code = a.CLI("job", "plan", "-var", "build=2", job)
	if code != 0 || !strings.Contains(out, "1 in-place update") || !strings.Contains(out, "forces in-place update") {
		t.Errorf("job plan (meta only) exit = %d, want 0 with an in-place update\n%s\n%s", code, out, errOut)
	}
	if out, errOut, code := a.CLI("job", "run", "-detach", "-var", "build=2", job); code != 0 {
		t.Fatalf("job run (meta only) exit = %d\n%s\n%s", code, out, errOut)
	}
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		allocs := list()
		if len(allocs) != 1 || allocs[0].ID != first.ID || allocs[0].JobVersion != 1 {
			return fmt.Errorf("allocations = %+v, want %s alone at job version 1", allocs, first.ID)
		}
		if got := cat(first.ID); got != "build=2 group=2 task=2\n" {
			return fmt.Errorf("meta.txt = %q, want the new meta", got)
		}
		return nil
	})
	// Give a wrongly scheduled restart time to show.
	time.Sleep(time.Second)
	allocs := list()
	if len(allocs) != 1 || allocs[0].ID != first.ID || allocs[0].ClientStatus != "running" || allocs[0].DesiredStatus != "run" {
		t.Fatalf("allocations after the update = %+v, want %s still running", allocs, first.ID)
	}
	ts := allocs[0].TaskStates["web"]
	var events []string
	for _, e := range ts.Events {
		events = append(events, e.Type)
	}
	if ts.Restarts != 0 || ts.State != "running" || slices.Contains(events, "Restarting") ||
		slices.Contains(events, "Restart Signaled") || slices.Contains(events, "Killing") {
		t.Errorf("task web: state %s restarts %d events %v, want running with no restart", ts.State, ts.Restarts, events)
	}
	if got := e2eutil.ProcessesWithEnv("NOMAD_ALLOC_ID=" + first.ID); !slices.Equal(got, pids) {
		t.Errorf("task processes = %v, want the same as before the update %v", got, pids)
	}
	// The new version's deployment completes with the updated allocation.
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		var d struct {
			JobVersion uint64
			Status     string
		}
		if err := a.GetJSON("/v1/job/inplace/deployment", &d); err != nil {
			return err
		}
		if d.JobVersion != 1 || d.Status != "successful" {
			return fmt.Errorf("latest deployment = %+v, want version 1 successful", d)
		}
		return nil
	})
}
