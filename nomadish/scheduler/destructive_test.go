package scheduler

import (
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func destructiveTestJob() *structs.Job {
	return &structs.Job{
		ID: "web", Namespace: structs.DefaultNamespace, Type: structs.JobTypeService,
		Datacenters: []string{"dc1"}, Version: 0, JobModifyIndex: 10,
		Meta: map[string]string{"owner": "a"},
		TaskGroups: []*structs.TaskGroup{{
			Name: "web", Count: 2,
			Meta: map[string]string{"tier": "1"},
			Tasks: []*structs.Task{{
				Name: "t", Driver: "raw_exec",
				Config:    map[string]interface{}{"command": "/bin/sleep", "args": []interface{}{"60"}},
				Env:       map[string]string{"A": "1"},
				Meta:      map[string]string{"build": "1"},
				Resources: &structs.Resources{CPU: 100, MemoryMB: 64},
			}},
		}},
	}
}

func TestDestructive(t *testing.T) {
	cases := []struct {
		name   string
		change func(j *structs.Job)
		want   bool
	}{
		{"nothing", func(j *structs.Job) {}, false},
		{"count", func(j *structs.Job) { j.TaskGroups[0].Count = 5 }, false},
		{"job meta", func(j *structs.Job) { j.Meta["owner"] = "b" }, false},
		{"job meta added", func(j *structs.Job) { j.Meta["new"] = "x" }, false},
		{"group meta", func(j *structs.Job) { j.TaskGroups[0].Meta = nil }, false},
		{"task meta", func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Meta["build"] = "2" }, false},
		{"update block", func(j *structs.Job) {
			j.TaskGroups[0].Update = &structs.UpdateStrategy{MaxParallel: 3}
		}, false},
		{"migrate block", func(j *structs.Job) {
			j.TaskGroups[0].Migrate = &structs.MigrateStrategy{MaxParallel: 2}
		}, false},
		{"driver", func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Driver = "exec" }, true},
		{"task config", func(j *structs.Job) {
			j.TaskGroups[0].Tasks[0].Config["args"] = []interface{}{"61"}
		}, true},
		{"task env", func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Env["A"] = "2" }, true},
		{"resources", func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Resources.MemoryMB = 128 }, true},
		{"template", func(j *structs.Job) {
			j.TaskGroups[0].Tasks[0].Templates = []*structs.Template{{EmbeddedTmpl: "x", DestPath: "local/x"}}
		}, true},
		{"task added", func(j *structs.Job) {
			j.TaskGroups[0].Tasks = append(j.TaskGroups[0].Tasks, &structs.Task{Name: "u", Driver: "raw_exec"})
		}, true},
		{"meta and config", func(j *structs.Job) {
			j.Meta["owner"] = "b"
			j.TaskGroups[0].Tasks[0].Config["command"] = "/bin/true"
		}, true},
		{"datacenters", func(j *structs.Job) { j.Datacenters = []string{"dc2"} }, true},
		{"job constraint", func(j *structs.Job) {
			j.Constraints = []*structs.Constraint{{LTarget: "${attr.kernel.name}", RTarget: "linux", Operand: "="}}
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := destructiveTestJob()
			job := destructiveTestJob()
			tc.change(job)
			job.Version, job.JobModifyIndex = 1, 20
			a := &structs.Allocation{ID: "a", Name: "web.web[0]", TaskGroup: "web", Job: old}
			r := &reconciler{job: job}
			if got := r.destructive(job.TaskGroups[0], a); got != tc.want {
				t.Errorf("destructive() after %s change = %v, want %v", tc.name, got, tc.want)
			}
		})
	}
}

// TestDestructiveLeavesJobUntouched: the comparison must not clear the meta
// of the jobs it reads.
func TestDestructiveLeavesJobUntouched(t *testing.T) {
	old, job := destructiveTestJob(), destructiveTestJob()
	job.TaskGroups[0].Tasks[0].Meta["build"] = "2"
	a := &structs.Allocation{ID: "a", TaskGroup: "web", Job: old}
	(&reconciler{job: job}).destructive(job.TaskGroups[0], a)
	if got := job.TaskGroups[0].Tasks[0].Meta["build"]; got != "2" {
		t.Errorf("task meta after destructive() = %q, want 2", got)
	}
	if got := old.TaskGroups[0].Meta["tier"]; got != "1" {
		t.Errorf("old group meta after destructive() = %q, want 1", got)
	}
}
