package structs

import (
	"fmt"
	"strings"
	"testing"
)

func validJob() *Job {
	j := &Job{
		ID:   "web",
		Type: JobTypeService,
		TaskGroups: []*TaskGroup{{
			Name:  "web",
			Count: 1,
			Tasks: []*Task{{
				Name:      "api",
				Driver:    "raw_exec",
				Resources: &Resources{CPU: 100, MemoryMB: 64},
			}},
		}},
	}
	j.Canonicalize()
	return j
}

func TestJobValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Job)
		want   []string
	}{
		{"valid", func(*Job) {}, nil},
		{"missing id", func(j *Job) { j.ID = "" }, []string{"job ID is required"}},
		{"space in id", func(j *Job) { j.ID = "a b" }, []string{`job ID "a b" contains a space`}},
		{"null in id", func(j *Job) { j.ID = "a\x00" }, []string{"null character"}},
		{"bad type", func(j *Job) { j.Type = "daemon" }, []string{`invalid job type "daemon"`}},
		{"priority", func(j *Job) { j.Priority = 101 }, []string{"priority 101 must be between 1 and 100"}},
		{"no groups", func(j *Job) { j.TaskGroups = nil }, []string{"job must have at least one group"}},
		{"duplicate group", func(j *Job) {
			g := *j.TaskGroups[0]
			j.TaskGroups = append(j.TaskGroups, &g)
		}, []string{`group "web": group name is used more than once`}},
		{"negative count", func(j *Job) { j.TaskGroups[0].Count = -1 }, []string{`group "web": count -1 must not be negative`}},
		{"huge count", func(j *Job) { j.TaskGroups[0].Count = 100001 }, []string{"more than the limit of 100000"}},
		{"missing driver", func(j *Job) { j.TaskGroups[0].Tasks[0].Driver = "" }, []string{`group "web" -> task "api": driver is required`}},
		{"memory", func(j *Job) { j.TaskGroups[0].Tasks[0].Resources.MemoryMB = 5 }, []string{`group "web" -> task "api": resources.memory must be at least 10 MB`}},
		{"cpu", func(j *Job) { j.TaskGroups[0].Tasks[0].Resources.CPU = 0 }, []string{"resources.cpu must be at least 1 MHz"}},
		{"cores instead of cpu", func(j *Job) {
			j.TaskGroups[0].Tasks[0].Resources.CPU = 0
			j.TaskGroups[0].Tasks[0].Resources.Cores = 2
		}, nil},
		{"duplicate task", func(j *Job) {
			tk := *j.TaskGroups[0].Tasks[0]
			j.TaskGroups[0].Tasks = append(j.TaskGroups[0].Tasks, &tk)
		}, []string{`task "api": task name is used more than once`}},
		{"too many groups", func(j *Job) {
			for i := 0; i < MaxTaskGroups; i++ {
				g := *j.TaskGroups[0]
				g.Name = fmt.Sprintf("g%d", i)
				j.TaskGroups = append(j.TaskGroups, &g)
			}
		}, []string{"groups; the limit is 1000", "tasks; the limit is 1000"}},
		{"all problems at once", func(j *Job) {
			j.ID = ""
			j.Priority = 0
			j.TaskGroups[0].Tasks[0].Driver = ""
		}, []string{"job ID is required", "priority 0", "driver is required"}},
		{"periodic service", func(j *Job) { j.Periodic = &PeriodicConfig{Enabled: true, Spec: "* * * * *"} }, []string{"only batch and sysbatch jobs can be periodic"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := validJob()
			tc.mutate(j)
			err := j.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}
