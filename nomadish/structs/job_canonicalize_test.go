package structs

import (
	"reflect"
	"testing"
	"time"
)

func TestJobCanonicalize(t *testing.T) {
	j := &Job{
		ID:          "x",
		Type:        JobTypeBatch,
		Affinities:  []*Affinity{{LTarget: "${node.class}", RTarget: "a"}},
		Spreads:     []*Spread{{Attribute: "${node.datacenter}"}},
		Periodic:    &PeriodicConfig{Enabled: true, Spec: "@daily"},
		TaskGroups:  []*TaskGroup{{Name: "g", Tasks: []*Task{{Name: "t", Artifacts: []*TaskArtifact{{GetterSource: "http://x"}}, Templates: []*Template{{}}}}}},
		Constraints: []*Constraint{{LTarget: "${attr.os}", RTarget: "linux"}},
	}
	j.Canonicalize()
	again := *j
	j.Canonicalize()
	tg := j.TaskGroups[0]
	task := tg.Tasks[0]
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"name", j.Name, "x"},
		{"namespace", j.Namespace, "default"},
		{"region", j.Region, "global"},
		{"datacenters", j.Datacenters, []string{"*"}},
		{"priority", j.Priority, 50},
		{"node pool", j.NodePool, "default"},
		{"batch has no update", j.Update, UpdateStrategy{}},
		{"periodic time zone", j.Periodic.TimeZone, "UTC"},
		{"periodic spec type", j.Periodic.SpecType, "cron"},
		{"constraint operand", j.Constraints[0].Operand, "="},
		{"affinity weight", j.Affinities[0].Weight, int8(50)},
		{"spread weight", j.Spreads[0].Weight, int8(50)},
		{"restart", *tg.RestartPolicy, *DefaultRestartPolicy(JobTypeBatch)},
		{"reschedule", *tg.ReschedulePolicy, *DefaultReschedulePolicy(JobTypeBatch)},
		{"batch has no migrate", tg.Migrate, (*MigrateStrategy)(nil)},
		{"disk", tg.EphemeralDisk.SizeMB, 300},
		{"kill timeout", task.KillTimeout, 5 * time.Second},
		{"logs", *task.LogConfig, LogConfig{MaxFiles: 10, MaxFileSizeMB: 10}},
		{"resources", *task.Resources, Resources{CPU: 100, MemoryMB: 300}},
		{"task restart", *task.RestartPolicy, *tg.RestartPolicy},
		{"artifact mode", task.Artifacts[0].GetterMode, "any"},
		{"artifact destination", task.Artifacts[0].RelativeDest, "local/"},
		{"template change mode", task.Templates[0].ChangeMode, "restart"},
		{"template perms", task.Templates[0].Perms, "0644"},
		{"idempotent", j.Priority, again.Priority},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("Canonicalize() %s = %v, want %v", tc.name, tc.got, tc.want)
			}
		})
	}
}

func TestJobCanonicalizeByType(t *testing.T) {
	tests := []struct {
		jobType    string
		wantUpdate bool
		wantResch  bool
		wantMig    bool
	}{
		{JobTypeService, true, true, true},
		{JobTypeBatch, false, true, false},
		{JobTypeSystem, false, false, false},
		{JobTypeSysBatch, false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.jobType, func(t *testing.T) {
			j := &Job{ID: "x", Type: tc.jobType, TaskGroups: []*TaskGroup{{Name: "g"}}}
			j.Canonicalize()
			tg := j.TaskGroups[0]
			if got := tg.Update != nil; got != tc.wantUpdate {
				t.Errorf("Canonicalize(%s) group update set = %v, want %v", tc.jobType, got, tc.wantUpdate)
			}
			if got := tg.ReschedulePolicy != nil; got != tc.wantResch {
				t.Errorf("Canonicalize(%s) reschedule set = %v, want %v", tc.jobType, got, tc.wantResch)
			}
			if got := tg.Migrate != nil; got != tc.wantMig {
				t.Errorf("Canonicalize(%s) migrate set = %v, want %v", tc.jobType, got, tc.wantMig)
			}
		})
	}
}

func TestCanonicalizeNil(t *testing.T) {
	var j *Job
	j.Canonicalize()
	(&Job{TaskGroups: []*TaskGroup{nil, {Tasks: []*Task{nil}}}}).Canonicalize()
}

func TestJobCanonicalize_ServiceCheckRestart(t *testing.T) {
	own := &CheckRestart{Limit: 1}
	s := &Service{
		Name:         "web",
		CheckRestart: &CheckRestart{Limit: 3, Grace: time.Second},
		Checks:       []*ServiceCheck{{Name: "a"}, {Name: "b", CheckRestart: own}},
	}
	j := &Job{ID: "x", TaskGroups: []*TaskGroup{{Name: "g", Services: []*Service{s}, Tasks: []*Task{{Name: "t"}}}}}
	j.Canonicalize()
	if got := s.Checks[0].CheckRestart; got == nil || got.Limit != 3 || got.Grace != time.Second {
		t.Errorf("check without check_restart = %+v, want the service's {Limit:3 Grace:1s}", got)
	}
	if got := s.Checks[1].CheckRestart; got != own {
		t.Errorf("check with its own check_restart = %+v, want its own", got)
	}
	if s.CheckRestart != nil {
		t.Errorf("service CheckRestart = %+v after Canonicalize, want nil", s.CheckRestart)
	}
}
