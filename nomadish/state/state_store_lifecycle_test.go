package state

import (
	"bytes"
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/pool"
	"github.com/nomadish/nomadish/nomadish/structs"
)

func lifecycleJob(id string, count int) *structs.Job {
	return &structs.Job{
		ID: id, Namespace: "default", Type: structs.JobTypeService,
		TaskGroups: []*structs.TaskGroup{{
			Name: "web", Count: count, Update: &structs.UpdateStrategy{MaxParallel: 1},
			Tasks: []*structs.Task{{Name: "t", Driver: "raw_exec"}},
		}},
	}
}

// storeWithJob is a new store holding lifecycleJob(id, count), registered
// at index 1.
func storeWithJob(t *testing.T, id string, count int) (*StateStore, *structs.Job) {
	t.Helper()
	s := NewStateStore()
	job := lifecycleJob(id, count)
	if err := s.UpsertJob(1, job); err != nil {
		t.Fatal(err)
	}
	return s, job
}

// storeWithWebAndDB holds two jobs of one allocation each, web and db,
// stored at indexes 1 and 2.
func storeWithWebAndDB(t *testing.T) (s *StateStore, web, db *structs.Job) {
	t.Helper()
	s = NewStateStore()
	web, db = lifecycleJob("web", 1), lifecycleJob("db", 1)
	for i, j := range []*structs.Job{web, db} {
		if err := s.UpsertJob(uint64(1+i), j); err != nil {
			t.Fatal(err)
		}
	}
	return s, web, db
}

func TestLifecycleTablesSurviveSnapshot(t *testing.T) {
	s := NewStateStore()
	launch := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	parent := &structs.Job{ID: "cron", Namespace: "default", Type: structs.JobTypeBatch,
		Periodic: &structs.PeriodicConfig{Enabled: true, Spec: "@hourly"}}
	if err := s.UpsertJob(1, parent); err != nil {
		t.Fatal(err)
	}
	child := *parent
	child.ID, child.ParentID, child.Periodic = "cron/periodic-1767268800", "cron", nil
	if err := s.ApplyPeriodicLaunch(2, &structs.PeriodicLaunchRequest{
		Child: &child, Launch: &structs.PeriodicLaunch{ID: "cron", Namespace: "default", Launch: launch},
	}); err != nil {
		t.Fatal(err)
	}
	job := lifecycleJob("web", 2)
	d := structs.NewDeployment(job, launch)
	if err := s.ApplyJobRegisterDeployment(3, &structs.JobRegisterDeploymentRequest{
		JobRegisterRequest: structs.JobRegisterRequest{Job: job}, Deployment: d,
	}); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	if err := s.Persist(&buf, pool.MsgpackHandle); err != nil {
		t.Fatalf("Persist() error = %v", err)
	}
	r, err := Restore(&buf, pool.MsgpackHandle)
	if err != nil {
		t.Fatalf("Restore() error = %v", err)
	}
	l, err := r.PeriodicLaunchByID(nil, "default", "cron")
	if err != nil || l == nil || !l.Launch.Equal(launch) {
		t.Errorf("restored PeriodicLaunchByID() = %+v, %v, want launch %s", l, err, launch)
	}
	children, _ := r.ChildJobs(nil, "default", "cron")
	if len(children) != 1 {
		t.Errorf("restored ChildJobs() = %d, want 1", len(children))
	}
	got, err := r.DeploymentByID(nil, d.ID)
	if err != nil || got == nil || got.JobVersion != 0 || got.JobCreateIndex != 3 || got.TaskGroups["web"].DesiredTotal != 2 {
		t.Errorf("restored DeploymentByID() = %+v, %v", got, err)
	}
}

func TestJobRegisterDeployment(t *testing.T) {
	s := NewStateStore()
	now := time.Now()
	register := func(index uint64, job *structs.Job) *structs.Deployment {
		t.Helper()
		d := structs.NewDeployment(job, now)
		if err := s.ApplyJobRegisterDeployment(index, &structs.JobRegisterDeploymentRequest{
			JobRegisterRequest: structs.JobRegisterRequest{Job: job}, Deployment: d,
		}); err != nil {
			t.Fatal(err)
		}
		return d
	}
	d0 := register(1, lifecycleJob("web", 2))
	same := register(2, lifecycleJob("web", 2))
	d1 := register(3, lifecycleJob("web", 3))
	tests := []struct {
		name       string
		id         string
		wantStatus string
		wantFound  bool
	}{
		{"first version's deployment is cancelled by the newer one", d0.ID, structs.DeploymentStatusCancelled, true},
		{"re-registering the same spec makes no deployment", same.ID, "", false},
		{"newest deployment runs", d1.ID, structs.DeploymentStatusRunning, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := s.DeploymentByID(nil, tc.id)
			if (d != nil) != tc.wantFound || (d != nil && d.Status != tc.wantStatus) {
				t.Errorf("DeploymentByID() = %+v, want found %v status %q", d, tc.wantFound, tc.wantStatus)
			}
		})
	}
	v := uint64(1)
	if err := s.ApplyDeploymentUpdate(4, &structs.DeploymentUpdateRequest{Deployment: d1, StableVersion: &v}); err != nil {
		t.Fatal(err)
	}
	if j, _ := s.JobByID(nil, "default", "web"); !j.Stable || j.Version != 1 {
		t.Errorf("job after StableVersion 1 = version %d stable %v, want 1, true", j.Version, j.Stable)
	}
	if j, _ := s.JobByVersion("default", "web", 0); j.Stable {
		t.Errorf("version 0 stable = true, want false")
	}
}
