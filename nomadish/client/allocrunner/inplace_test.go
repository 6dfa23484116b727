package allocrunner

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// TestInPlaceMetaUpdate: a newer job version that only changes meta reaches
// a running task's templates without restarting it; the process keeps its
// start-time environment until it starts again.
func TestInPlaceMetaUpdate(t *testing.T) {
	h := newHarness(t)
	task := &structs.Task{Name: "web", KillTimeout: time.Second,
		Meta: map[string]string{"build": "1"},
		Templates: []*structs.Template{{
			EmbeddedTmpl: `build={{ env "NOMAD_META_build" }} owner={{ env "NOMAD_META_owner" }}`,
			DestPath:     "local/meta.txt", ChangeMode: "noop",
		}},
		Config: sh(`echo "$NOMAD_META_build $NOMAD_META_owner" >> "$NOMAD_TASK_DIR/env"; while true; do sleep 0.05; done`)}
	a := testAlloc(structs.JobTypeService, task)
	a.Job.Meta = map[string]string{"owner": "a"}
	a.Job.JobModifyIndex = 10
	ar := h.runner(a, false)
	start(t, ar)
	dir := ar.AllocDir().TaskDir("web").LocalDir
	content := func(name, want string) func() bool {
		return func() bool {
			b, err := os.ReadFile(filepath.Join(dir, name))
			return err == nil && string(b) == want
		}
	}
	waitFor(t, "first render", content("meta.txt", "build=1 owner=a"))
	waitFor(t, "task env written", content("env", "1 a\n"))

	u := a.Copy()
	u.Job = copyJob(t, a.Job)
	u.Job.Version, u.Job.JobModifyIndex = 1, 20
	u.Job.Meta = map[string]string{"owner": "b"}
	u.Job.TaskGroups[0].Tasks[0].Meta = map[string]string{"build": "2"}
	u.AllocModifyIndex = 21
	ar.Update(u)
	waitFor(t, "render with the new meta", content("meta.txt", "build=2 owner=b"))
	if ts := ar.TaskState("web"); ts.Restarts != 0 || ts.State != structs.TaskStateRunning {
		t.Errorf("after in-place update: restarts %d state %s, want 0 and running", ts.Restarts, ts.State)
	}
	if !content("env", "1 a\n")() {
		t.Errorf("task env file changed without a restart")
	}

	// The next start sees the new meta in its environment.
	if err := ar.RestartTask("web"); err != nil {
		t.Fatalf("RestartTask() error = %v", err)
	}
	waitFor(t, "restart with the new env", content("env", "1 a\n2 b\n"))
}

// TestInPlaceUpdateRestartTemplate: a template with change_mode restart
// restarts the task when an in-place update changes what it renders.
func TestInPlaceUpdateRestartTemplate(t *testing.T) {
	h := newHarness(t)
	task := &structs.Task{Name: "web", KillTimeout: time.Second,
		Templates: []*structs.Template{{
			EmbeddedTmpl: `v={{ env "NOMAD_META_v" }}`, DestPath: "local/v.txt", ChangeMode: "restart",
		}},
		Config: sh(`while true; do sleep 0.05; done`)}
	a := testAlloc(structs.JobTypeService, task)
	a.Job.TaskGroups[0].Meta = map[string]string{"v": "1"}
	ar := h.runner(a, false)
	start(t, ar)
	waitFor(t, "running", func() bool { return ar.TaskState("web").State == structs.TaskStateRunning })

	// A job change that leaves the rendered text alone restarts nothing.
	same := a.Copy()
	same.Job = copyJob(t, a.Job)
	same.Job.Version, same.Job.JobModifyIndex = 1, 20
	same.Job.Meta = map[string]string{"unused": "x"}
	ar.Update(same)

	u := a.Copy()
	u.Job = copyJob(t, a.Job)
	u.Job.Version, u.Job.JobModifyIndex = 2, 30
	u.Job.TaskGroups[0].Meta = map[string]string{"v": "2"}
	ar.Update(u)
	waitFor(t, "restart for the template", func() bool {
		ts := ar.TaskState("web")
		return ts.Restarts == 1 && ts.State == structs.TaskStateRunning
	})
	b, _ := os.ReadFile(filepath.Join(ar.AllocDir().TaskDir("web").LocalDir, "v.txt"))
	if string(b) != "v=2" {
		t.Errorf("v.txt = %q, want v=2", b)
	}
}

func copyJob(t *testing.T, j *structs.Job) *structs.Job {
	t.Helper()
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	var c structs.Job
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}
