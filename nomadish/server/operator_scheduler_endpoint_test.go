package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestOperator_SchedulerConfigurationCAS(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()

	var get structs.SchedulerConfigurationResponse
	if err := s.RPC("Operator.SchedulerGetConfiguration", &structs.GenericRequest{}, &get); err != nil {
		t.Fatalf("SchedulerGetConfiguration error = %v", err)
	}
	if got := get.SchedulerConfig.SchedulerAlgorithm; got != "binpack" {
		t.Errorf("default SchedulerAlgorithm = %q, want binpack", got)
	}
	if !get.SchedulerConfig.PreemptionConfig.SystemSchedulerEnabled {
		t.Errorf("default SystemSchedulerEnabled = false, want true")
	}

	cases := []struct {
		name        string
		algo        string
		cas         bool
		modifyIndex func(current uint64) uint64
		wantUpdated bool
	}{
		{name: "plain set", algo: "spread", modifyIndex: func(uint64) uint64 { return 0 }, wantUpdated: true},
		{name: "cas stale", algo: "binpack", cas: true, modifyIndex: func(c uint64) uint64 { return c - 1 }, wantUpdated: false},
		{name: "cas current", algo: "binpack", cas: true, modifyIndex: func(c uint64) uint64 { return c }, wantUpdated: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var cur structs.SchedulerConfigurationResponse
			if err := s.RPC("Operator.SchedulerGetConfiguration", &structs.GenericRequest{}, &cur); err != nil {
				t.Fatal(err)
			}
			req := &structs.SchedulerSetConfigRequest{CAS: tc.cas}
			req.Config.SchedulerAlgorithm = tc.algo
			req.Config.ModifyIndex = tc.modifyIndex(cur.SchedulerConfig.ModifyIndex)
			var reply structs.SchedulerSetConfigurationResponse
			if err := s.RPC("Operator.SchedulerSetConfiguration", req, &reply); err != nil {
				t.Fatalf("SchedulerSetConfiguration error = %v", err)
			}
			if reply.Updated != tc.wantUpdated {
				t.Errorf("SchedulerSetConfiguration(%s, cas=%v).Updated = %v, want %v", tc.algo, tc.cas, reply.Updated, tc.wantUpdated)
			}
			if reply.Index == 0 {
				t.Errorf("SchedulerSetConfiguration().Index = 0, want > 0")
			}
		})
	}
}

func TestOperator_SchedulerConfigurationRejectsBadAlgorithm(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()
	req := &structs.SchedulerSetConfigRequest{Config: structs.SchedulerConfiguration{SchedulerAlgorithm: "random"}}
	err := s.RPC("Operator.SchedulerSetConfiguration", req, &structs.SchedulerSetConfigurationResponse{})
	if code, _ := ErrorCode(err); code != 400 {
		t.Errorf("SchedulerSetConfiguration(random) = %v (code %d), want a 400 error", err, code)
	}
}

// TestOperator_SchedulerAlgorithmDrivesPlacement checks that the workers
// read the stored algorithm: four one-allocation jobs share one node
// under binpack, and the next ones go to the other node under spread, and the setting survives a restart.
func TestOperator_SchedulerAlgorithmDrivesPlacement(t *testing.T) {
	dir := t.TempDir()
	s := testServer(t, dir)
	for i := 0; i < 2; i++ {
		if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: testNode(structs.GenerateUUID())}, &structs.NodeUpdateResponse{}); err != nil {
			t.Fatalf("Node.Register error = %v", err)
		}
	}
	// Single-allocation jobs, so job anti-affinity plays no part.
	place := func(prefix string) map[string]bool {
		seen := map[string]bool{}
		for i := 0; i < 4; i++ {
			id := fmt.Sprintf("%s-%d", prefix, i)
			if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: testJob(id, 1)}, &structs.JobRegisterResponse{}); err != nil {
				t.Fatalf("Job.Register error = %v", err)
			}
			waitFor(t, 10*time.Second, func() bool { return len(liveAllocs(t, s, id)) == 1 })
			seen[liveAllocs(t, s, id)[0].NodeID] = true
		}
		return seen
	}
	packed := place("packed")
	if len(packed) != 1 {
		t.Errorf("binpack: nodes used = %d, want 1", len(packed))
	}
	set := &structs.SchedulerSetConfigRequest{Config: structs.SchedulerConfiguration{SchedulerAlgorithm: "spread"}}
	if err := s.RPC("Operator.SchedulerSetConfiguration", set, &structs.SchedulerSetConfigurationResponse{}); err != nil {
		t.Fatalf("SchedulerSetConfiguration error = %v", err)
	}
	for n := range place("spread") {
		if packed[n] {
			t.Errorf("spread: placed on the full node %s, want the empty one", n)
		}
	}

	if err := s.Shutdown(); err != nil {
		t.Fatalf("Shutdown() error = %v", err)
	}
	s2 := testServer(t, dir)
	defer s2.Shutdown()
	var get structs.SchedulerConfigurationResponse
	if err := s2.RPC("Operator.SchedulerGetConfiguration", &structs.GenericRequest{}, &get); err != nil {
		t.Fatalf("SchedulerGetConfiguration error = %v", err)
	}
	if got := get.SchedulerConfig.SchedulerAlgorithm; got != "spread" {
		t.Errorf("after restart SchedulerAlgorithm = %q, want spread", got)
	}
}
