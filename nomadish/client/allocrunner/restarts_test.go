package allocrunner

import (
	"errors"
	"testing"
	"time"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestRestartTracker(t *testing.T) {
	ok := &drivers.ExitResult{}
	bad := &drivers.ExitResult{ExitCode: 1}
	policy := func(mode string) *structs.RestartPolicy {
		return &structs.RestartPolicy{Attempts: 2, Interval: time.Minute, Delay: time.Second, Mode: mode}
	}
	type step struct {
		exit        *drivers.ExitResult
		startErr    error
		after       time.Duration
		wantRestart bool
		wantFailed  bool
		wantDelay   time.Duration
	}
	for _, tc := range []struct {
		name    string
		jobType string
		task    *structs.Task
		policy  *structs.RestartPolicy
		steps   []step
	}{
		{
			name: "batch success ends the task", jobType: structs.JobTypeBatch, task: &structs.Task{}, policy: policy("fail"),
			steps: []step{{exit: ok}},
		},
		{
			name: "service success restarts", jobType: structs.JobTypeService, task: &structs.Task{}, policy: policy("fail"),
			steps: []step{{exit: ok, wantRestart: true, wantDelay: time.Second}},
		},
		{
			name: "ephemeral prestart success ends the task", jobType: structs.JobTypeService,
			task:   &structs.Task{Lifecycle: &structs.TaskLifecycleConfig{Hook: structs.TaskLifecycleHookPrestart}},
			policy: policy("fail"), steps: []step{{exit: ok}},
		},
		{
			name: "fail mode fails after attempts", jobType: structs.JobTypeBatch, task: &structs.Task{}, policy: policy("fail"),
			steps: []step{
				{exit: bad, wantRestart: true, wantDelay: time.Second},
				{exit: bad, wantRestart: true, wantDelay: time.Second},
				{exit: bad, wantFailed: true},
			},
		},
		{
			name: "delay mode waits out the interval", jobType: structs.JobTypeBatch, task: &structs.Task{}, policy: policy("delay"),
			steps: []step{
				{exit: bad, wantRestart: true, wantDelay: time.Second},
				{exit: bad, after: 10 * time.Second, wantRestart: true, wantDelay: time.Second},
				{exit: bad, after: 10 * time.Second, wantRestart: true, wantDelay: 40 * time.Second},
			},
		},
		{
			name: "a new interval resets the count", jobType: structs.JobTypeBatch, task: &structs.Task{}, policy: policy("fail"),
			steps: []step{
				{exit: bad, wantRestart: true, wantDelay: time.Second},
				{exit: bad, wantRestart: true, wantDelay: time.Second},
				{exit: bad, after: 2 * time.Minute, wantRestart: true, wantDelay: time.Second},
			},
		},
		{
			name: "start errors count as failures", jobType: structs.JobTypeBatch, task: &structs.Task{},
			policy: &structs.RestartPolicy{Attempts: 0, Interval: time.Minute, Mode: "fail"},
			steps:  []step{{startErr: errors.New("boom"), wantFailed: true}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := newRestartTracker(tc.policy, tc.jobType, tc.task)
			rt.jitter = false
			now := time.Unix(1000, 0)
			for i, s := range tc.steps {
				now = now.Add(s.after)
				d := rt.next(now, s.exit, s.startErr, true)
				if d.restart != s.wantRestart || d.failed != s.wantFailed || (d.restart && d.delay != s.wantDelay) {
					t.Errorf("step %d: next() = restart %v failed %v delay %v, want %v %v %v", i, d.restart, d.failed, d.delay, s.wantRestart, s.wantFailed, s.wantDelay)
				}
			}
		})
	}
}

func TestClientStatus(t *testing.T) {
	st := func(state string, failed bool) *structs.TaskState {
		return &structs.TaskState{State: state, Failed: failed}
	}
	for _, tc := range []struct {
		name   string
		states map[string]*structs.TaskState
		want   string
	}{
		{"all pending", map[string]*structs.TaskState{"a": st("pending", false)}, structs.AllocClientStatusPending},
		{"one running", map[string]*structs.TaskState{"a": st("running", false), "b": st("pending", false)}, structs.AllocClientStatusRunning},
		{"all dead ok", map[string]*structs.TaskState{"a": st("dead", false), "b": st("dead", false)}, structs.AllocClientStatusComplete},
		{"one failed", map[string]*structs.TaskState{"a": st("running", false), "b": st("dead", true)}, structs.AllocClientStatusFailed},
		{"prestart done main running", map[string]*structs.TaskState{"init": st("dead", false), "main": st("running", false)}, structs.AllocClientStatusRunning},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := clientStatus(tc.states); got != tc.want {
				t.Errorf("clientStatus() = %s, want %s", got, tc.want)
			}
		})
	}
}
