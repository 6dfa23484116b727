package allocrunner

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// TestArtifactHostFiles checks that a file artifact source on the host
// fails the task unless the client allows host files.
func TestArtifactHostFiles(t *testing.T) {
	src := filepath.Join(t.TempDir(), "tool.sh")
	if err := os.WriteFile(src, []byte("echo from host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, allow := range []bool{false, true} {
		h := newHarness(t)
		a := testAlloc(structs.JobTypeBatch, &structs.Task{Name: "web",
			Artifacts: []*structs.TaskArtifact{{GetterSource: "file://" + src}},
			Config:    sh(`. "$NOMAD_TASK_DIR/tool.sh"`)})
		a.Job.TaskGroups[0].RestartPolicy = &structs.RestartPolicy{Mode: structs.RestartPolicyModeFail}
		ar, err := New(&Config{
			Logger: hclog.NewNullLogger(), Alloc: a, Region: "global", AllocRoot: h.root,
			Node:    func() *structs.Node { return &structs.Node{ID: "node1", Datacenter: "dc1"} },
			Drivers: oneDriver{h.driver}, State: h.store, OnUpdate: h.rec.add,
			ArtifactHostFiles: allow,
		})
		if err != nil {
			t.Fatal(err)
		}
		start(t, ar)
		waitDone(t, ar)
		ts := ar.TaskState("web")
		out, _ := os.ReadFile(filepath.Join(h.root, a.ID, "alloc", "logs", "web.stdout.0"))
		if allow {
			if ts.Failed || string(out) != "from host\n" {
				t.Errorf("allowed: failed=%v stdout=%q, want the host file fetched", ts.Failed, out)
			}
		} else if !ts.Failed || !contains(eventTypes(ts), "Failed Artifact Download") {
			t.Errorf("not allowed: failed=%v events=%v, want Failed Artifact Download", ts.Failed, eventTypes(ts))
		}
	}
}
