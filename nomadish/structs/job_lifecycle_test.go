package structs

import (
	"testing"
	"time"
)

func TestPeriodicConfigNext(t *testing.T) {
	from := time.Date(2026, 3, 1, 10, 0, 30, 0, time.UTC)
	tests := []struct {
		name string
		cfg  PeriodicConfig
		want time.Time
	}{
		{"five fields", PeriodicConfig{Spec: "*/15 * * * *"}, time.Date(2026, 3, 1, 10, 15, 0, 0, time.UTC)},
		{"seven fields with seconds", PeriodicConfig{Spec: "*/10 * * * * * *"}, time.Date(2026, 3, 1, 10, 0, 40, 0, time.UTC)},
		{"earliest of several specs", PeriodicConfig{Specs: []string{"0 12 * * *", "0 11 * * *"}}, time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)},
		{"time zone", PeriodicConfig{Spec: "0 12 * * *", TimeZone: "America/New_York"}, time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC)},
		{"bad time zone", PeriodicConfig{Spec: "0 12 * * *", TimeZone: "Mars/Olympus"}, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cfg.Next(from); !got.Equal(tc.want) {
				t.Errorf("Next(%s) = %s, want %s", from, got, tc.want)
			}
		})
	}
}

func TestPeriodicConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     PeriodicConfig
		wantErr bool
	}{
		{"valid", PeriodicConfig{Spec: "@hourly", TimeZone: "Europe/Paris"}, false},
		{"no spec", PeriodicConfig{}, true},
		{"bad spec", PeriodicConfig{Spec: "every day"}, true},
		{"bad zone", PeriodicConfig{Spec: "@daily", TimeZone: "Nowhere/City"}, true},
		{"bad spec type", PeriodicConfig{Spec: "@daily", SpecType: "rrule"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err != nil) != tc.wantErr {
				t.Errorf("Validate() = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

func diffTestJob() *Job {
	return &Job{
		ID: "web", Type: JobTypeService, Priority: 50, Meta: map[string]string{"owner": "a"},
		TaskGroups: []*TaskGroup{{
			Name: "g", Count: 2,
			Tasks: []*Task{{Name: "t", Driver: "raw_exec", Config: map[string]interface{}{"command": "/bin/sleep"}}},
		}},
	}
}

func TestJobDiff(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(j *Job)
		wantType  string
		wantGroup string
		wantPaths []string
	}{
		{"no change", func(*Job) {}, DiffTypeNone, DiffTypeNone, nil},
		{"server fields ignored", func(j *Job) { j.Version, j.Status, j.ModifyIndex = 3, "running", 9 }, DiffTypeNone, DiffTypeNone, nil},
		{"job field", func(j *Job) { j.Priority = 70 }, DiffTypeEdited, DiffTypeNone, []string{"Priority"}},
		{"meta key", func(j *Job) { j.Meta = map[string]string{"owner": "b"} }, DiffTypeEdited, DiffTypeNone, []string{"Meta[owner]"}},
		{"group count", func(j *Job) { j.TaskGroups[0].Count = 3 }, DiffTypeEdited, DiffTypeEdited, []string{"g.Count"}},
		{"task config", func(j *Job) { j.TaskGroups[0].Tasks[0].Config = map[string]interface{}{"command": "/bin/true"} }, DiffTypeEdited, DiffTypeEdited, []string{"g.t.Config.command"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old, new := diffTestJob(), diffTestJob()
			tc.edit(new)
			d := old.Diff(new)
			if d.Type != tc.wantType {
				t.Errorf("Diff().Type = %s, want %s", d.Type, tc.wantType)
			}
			if got := d.TaskGroups[0].Type; got != tc.wantGroup {
				t.Errorf("Diff().TaskGroups[0].Type = %s, want %s", got, tc.wantGroup)
			}
			got := diffPaths(d)
			if len(got) != len(tc.wantPaths) {
				t.Fatalf("Diff() paths = %v, want %v", got, tc.wantPaths)
			}
			for i := range got {
				if got[i] != tc.wantPaths[i] {
					t.Errorf("Diff() paths = %v, want %v", got, tc.wantPaths)
				}
			}
		})
	}
}

// diffPaths lists the changed fields of a diff as group.task.object.field.
func diffPaths(d *JobDiff) []string {
	var out []string
	var walk func(prefix string, fs []*FieldDiff, os []*ObjectDiff)
	walk = func(prefix string, fs []*FieldDiff, os []*ObjectDiff) {
		for _, f := range fs {
			out = append(out, prefix+f.Name)
		}
		for _, o := range os {
			walk(prefix+o.Name+".", o.Fields, o.Objects)
		}
	}
	walk("", d.Fields, d.Objects)
	for _, g := range d.TaskGroups {
		walk(g.Name+".", g.Fields, g.Objects)
		for _, task := range g.Tasks {
			walk(g.Name+"."+task.Name+".", task.Fields, task.Objects)
		}
	}
	return out
}

func TestJobDiffAddedGroup(t *testing.T) {
	old, new := diffTestJob(), diffTestJob()
	new.TaskGroups = append(new.TaskGroups, &TaskGroup{Name: "h", Count: 1})
	d := old.Diff(new)
	if len(d.TaskGroups) != 2 || d.TaskGroups[1].Type != DiffTypeAdded {
		t.Fatalf("Diff() groups = %+v, want second group Added", d.TaskGroups)
	}
	if d := (*Job)(nil).Diff(new); d.Type != DiffTypeAdded {
		t.Errorf("nil.Diff(job).Type = %s, want Added", d.Type)
	}
}
