package server

import (
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestWatchedDeploymentCurrent(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	d := &structs.Deployment{ID: "d", ModifyIndex: 7}
	ch := make(chan struct{})
	ws := memdb.NewWatchSet()
	ws.Add(ch)
	small := newWatchedDeployment(d, ws, 4, t0)  // rests 1 ms
	big := newWatchedDeployment(d, ws, 1000, t0) // rests 500 ms

	if !small.current(d, t0.Add(50*time.Millisecond)) {
		t.Errorf("unchanged deployment not current")
	}
	moved := *d
	moved.ModifyIndex = 8
	if small.current(&moved, t0.Add(50*time.Millisecond)) {
		t.Errorf("deployment changed by a write still current")
	}
	if !small.current(d, t0.Add(time.Hour)) {
		t.Errorf("deployment with nothing changed and no deadline not current an hour later")
	}
	timed := *d
	timed.TaskGroups = map[string]*structs.DeploymentState{"web": {ProgressDeadline: 10 * time.Minute, RequireProgressBy: t0.Add(10 * time.Minute)}}
	if !small.current(&timed, t0.Add(9*time.Minute)) {
		t.Errorf("deployment before its progress deadline not current")
	}
	if small.current(&timed, t0.Add(11*time.Minute)) {
		t.Errorf("deployment past its progress deadline still current; the deadline would be missed")
	}
	recent := newWatchedDeployment(&timed, memdb.NewWatchSet(), 4, t0.Add(11*time.Minute))
	if !recent.current(&timed, t0.Add(11*time.Minute+500*time.Millisecond)) {
		t.Errorf("deployment past its deadline, stepped 500 ms ago, stepped again before %s", deploymentWatchMaxSleep)
	}
	close(ch) // the job's allocations changed
	if small.current(d, t0.Add(50*time.Millisecond)) {
		t.Errorf("small job with changed allocations still current")
	}
	if !big.current(d, t0.Add(100*time.Millisecond)) {
		t.Errorf("large job stepped 100 ms ago not resting")
	}
	if big.current(d, t0.Add(600*time.Millisecond)) {
		t.Errorf("large job with changed allocations current after its rest")
	}
}
