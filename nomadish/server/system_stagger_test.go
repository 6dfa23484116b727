package server

import (
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// TestServer_SystemJobUpdateStagger: a destructive update of a system job
// replaces max_parallel allocations at once and the next set only after
// stagger (Nomad's update block for system jobs), through the real
// broker's delayed evaluations.
func TestServer_SystemJobUpdateStagger(t *testing.T) {
	const stagger = 1500 * time.Millisecond
	s := testServer(t, t.TempDir())
	defer s.Shutdown()
	for i := 0; i < 4; i++ {
		if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: testNode(structs.GenerateUUID())}, &structs.NodeUpdateResponse{}); err != nil {
			t.Fatal(err)
		}
	}
	job := testJob("sys", 1)
	job.Type = structs.JobTypeSystem
	job.TaskGroups[0].Update = &structs.UpdateStrategy{MaxParallel: 2, Stagger: stagger}
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: job}, &structs.JobRegisterResponse{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { return len(liveAllocs(t, s, "sys")) == 4 })
	reportAllocs(t, s, "sys", structs.AllocClientStatusRunning)

	byVersion := func() map[uint64]int {
		out := map[uint64]int{}
		for _, a := range liveAllocs(t, s, "sys") {
			out[a.Job.Version]++
		}
		return out
	}
	update := testJob("sys", 1)
	update.Type = structs.JobTypeSystem
	update.TaskGroups[0].Update = &structs.UpdateStrategy{MaxParallel: 2, Stagger: stagger}
	update.TaskGroups[0].Tasks[0].Config = map[string]interface{}{"command": "/bin/sleep", "args": []interface{}{"61"}}
	start := time.Now()
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: update}, &structs.JobRegisterResponse{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() bool { return byVersion()[1] == 2 })
	if got := byVersion(); got[0] != 2 {
		t.Fatalf("after the first set: live allocs by version = %v, want 2 old and 2 new (max_parallel 2)", got)
	}
	// The second set waits for stagger.
	time.Sleep(stagger / 2)
	if got := byVersion(); got[1] != 2 || got[0] != 2 {
		t.Errorf("%s into the stagger: live allocs by version = %v, want still 2 and 2", time.Since(start).Round(time.Millisecond), got)
	}
	waitFor(t, 10*time.Second, func() bool { return byVersion()[1] == 4 })
	if d := time.Since(start); d < stagger {
		t.Errorf("all allocations replaced %s after the update, want at least the stagger %s", d, stagger)
	}
	if got := byVersion(); got[0] != 0 {
		t.Errorf("old allocations left running: %v", got)
	}
}
