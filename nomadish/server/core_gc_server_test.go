package server

import (
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// reportAllocs has the client report every allocation of the job with the
// given status.
func reportAllocs(t *testing.T, s *Server, jobID, status string) {
	t.Helper()
	all, err := s.State().AllocsByJob(nil, structs.DefaultNamespace, jobID)
	if err != nil {
		t.Fatal(err)
	}
	var updates []*structs.Allocation
	for _, a := range all {
		updates = append(updates, &structs.Allocation{ID: a.ID, ClientStatus: status})
	}
	if err := s.RPC("Node.UpdateAlloc", &structs.AllocUpdateRequest{Alloc: updates}, &structs.GenericResponse{}); err != nil {
		t.Fatalf("Node.UpdateAlloc error = %v", err)
	}
}

func jobStored(s *Server, id string) bool {
	j, _ := s.State().JobByID(nil, structs.DefaultNamespace, id)
	return j != nil
}

// TestServer_GCCollectsAfterThreshold: the leader's loop collects a
// finished batch job once it has been dead for job_gc_threshold, not
// before.
func TestServer_GCCollectsAfterThreshold(t *testing.T) {
	const threshold = 700 * time.Millisecond
	s := testServerWith(t, t.TempDir(), func(c *Config) {
		c.JobGCInterval = 50 * time.Millisecond
		c.JobGCThreshold, c.EvalGCThreshold, c.BatchEvalGCThreshold = threshold, threshold, threshold
		c.DeploymentGCThreshold, c.NodeGCThreshold = threshold, threshold
	})
	defer s.Shutdown()
	if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: testNode(structs.GenerateUUID())}, &structs.NodeUpdateResponse{}); err != nil {
		t.Fatal(err)
	}
	job := testJob("once", 1)
	job.Type = structs.JobTypeBatch
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: job}, &structs.JobRegisterResponse{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { return len(liveAllocs(t, s, "once")) == 1 })
	waitFor(t, 5*time.Second, func() bool {
		evals, _ := s.State().EvalsByJob(nil, structs.DefaultNamespace, "once")
		return len(evals) > 0 && evals[0].TerminalStatus()
	})
	reportAllocs(t, s, "once", structs.AllocClientStatusComplete)
	finished := time.Now()
	waitFor(t, 5*time.Second, func() bool {
		j, _ := s.State().JobByID(nil, structs.DefaultNamespace, "once")
		return j != nil && j.Status == structs.JobStatusDead
	})
	if !jobStored(s, "once") {
		t.Fatalf("job collected at once, want it kept for %s", threshold)
	}
	waitFor(t, 10*time.Second, func() bool { return !jobStored(s, "once") })
	if d := time.Since(finished); d < threshold {
		t.Errorf("job collected %s after it finished, want at least %s", d, threshold)
	}
	evals, _ := s.State().EvalsByJob(nil, structs.DefaultNamespace, "once")
	allocs, _ := s.State().AllocsByJob(nil, structs.DefaultNamespace, "once")
	if len(evals)+len(allocs) != 0 {
		t.Errorf("after job GC: %d evals and %d allocs left, want none", len(evals), len(allocs))
	}
}

// TestServer_ForcedGC: System.GarbageCollect ignores the (default, hours
// long) thresholds but keeps what still runs.
func TestServer_ForcedGC(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()
	up := structs.GenerateUUID()
	if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: testNode(up)}, &structs.NodeUpdateResponse{}); err != nil {
		t.Fatal(err)
	}
	down := structs.GenerateUUID()
	dn := testNode(down)
	dn.Drivers = nil // no task lands on it
	if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: dn}, &structs.NodeUpdateResponse{}); err != nil {
		t.Fatal(err)
	}
	if err := s.RPC("Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: down, Status: structs.NodeStatusDown}, &structs.NodeUpdateResponse{}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"gone", "kept"} {
		if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: testJob(id, 1)}, &structs.JobRegisterResponse{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, func() bool { return len(liveAllocs(t, s, id)) == 1 })
		reportAllocs(t, s, id, structs.AllocClientStatusRunning)
	}
	if err := s.RPC("Job.Deregister", &structs.JobDeregisterRequest{JobID: "gone"}, &structs.JobDeregisterResponse{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { return len(liveAllocs(t, s, "gone")) == 0 })
	reportAllocs(t, s, "gone", structs.AllocClientStatusComplete)
	waitFor(t, 5*time.Second, func() bool {
		j, _ := s.State().JobByID(nil, structs.DefaultNamespace, "gone")
		return j.Status == structs.JobStatusDead
	})
	// The deployment watcher cancels the stopped job's deployment.
	waitFor(t, 10*time.Second, func() bool {
		ds, _ := s.State().DeploymentsByJob(nil, structs.DefaultNamespace, "gone")
		for _, d := range ds {
			if d.Active() {
				return false
			}
		}
		return true
	})

	var reply structs.SystemGCResponse
	if err := s.RPC("System.GarbageCollect", &structs.SystemGCRequest{}, &reply); err != nil {
		t.Fatalf("System.GarbageCollect error = %v", err)
	}
	if jobStored(s, "gone") {
		t.Errorf("stopped job not collected")
	}
	if !jobStored(s, "kept") || len(liveAllocs(t, s, "kept")) != 1 {
		t.Errorf("running job or its allocation collected")
	}
	if n, _ := s.State().NodeByID(nil, down); n != nil {
		t.Errorf("down node not collected")
	}
	if n, _ := s.State().NodeByID(nil, up); n == nil {
		t.Errorf("ready node collected")
	}
	if reply.Collected.Jobs != 1 || reply.Collected.Nodes != 1 || reply.Collected.Allocs != 1 || reply.Collected.Evals < 2 {
		t.Errorf("Collected = %+v, want 1 job, 1 node, 1 alloc and its evals", reply.Collected)
	}
	if ds, _ := s.State().DeploymentsByJob(nil, structs.DefaultNamespace, "gone"); len(ds) != 0 {
		t.Errorf("%d deployments of the collected job left", len(ds))
	}
	if reply.Index == 0 {
		t.Errorf("reply index = 0")
	}
	// Nothing left to collect: a second pass deletes nothing.
	reply = structs.SystemGCResponse{}
	if err := s.RPC("System.GarbageCollect", &structs.SystemGCRequest{}, &reply); err != nil {
		t.Fatal(err)
	}
	if reply.Collected != (structs.GCResult{}) {
		t.Errorf("second pass collected %+v, want nothing", reply.Collected)
	}
}

func TestConfigValidateGC(t *testing.T) {
	c := DefaultConfig()
	c.NodeName, c.DataDir = "n", "/tmp/x"
	c.EvalGCThreshold = 0
	if err := c.Validate(); err == nil {
		t.Errorf("Validate() with eval_gc_threshold 0 = nil, want an error")
	}
}

// TestServer_GCCancelsStaleBlockedEvals: a job that could not be placed
// leaves blocked evaluations; the older ones, and all of them once the job
// is stopped, are cancelled and collected, and so is the stopped job.
func TestServer_GCCancelsStaleBlockedEvals(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()
	if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: testNode(structs.GenerateUUID())}, &structs.NodeUpdateResponse{}); err != nil {
		t.Fatal(err)
	}
	blockedEvals := func() []*structs.Evaluation {
		evals, _ := s.State().EvalsByJob(nil, structs.DefaultNamespace, "huge")
		var out []*structs.Evaluation
		for _, e := range evals {
			if e.Status == structs.EvalStatusBlocked {
				out = append(out, e)
			}
		}
		return out
	}
	for i, mem := range []int{1 << 20, 1<<20 + 1} {
		job := testJob("huge", 1)
		job.TaskGroups[0].Tasks[0].Resources.MemoryMB = mem
		if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: job}, &structs.JobRegisterResponse{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, func() bool { return len(blockedEvals()) == i+1 })
	}
	newest := blockedEvals()[0]
	for _, e := range blockedEvals() {
		if e.CreateIndex > newest.CreateIndex {
			newest = e
		}
	}
	var reply structs.SystemGCResponse
	if err := s.RPC("System.GarbageCollect", &structs.SystemGCRequest{}, &reply); err != nil {
		t.Fatal(err)
	}
	if b := blockedEvals(); len(b) != 1 || b[0].ID != newest.ID {
		t.Fatalf("blocked evals after GC = %d, want only the newest %s", len(b), newest.ID)
	}
	if reply.Collected.Evals == 0 {
		t.Errorf("Collected = %+v, want the cancelled duplicate collected", reply.Collected)
	}

	if err := s.RPC("Job.Deregister", &structs.JobDeregisterRequest{JobID: "huge"}, &structs.JobDeregisterResponse{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool {
		j, _ := s.State().JobByID(nil, structs.DefaultNamespace, "huge")
		evals, _ := s.State().EvalsByJob(nil, structs.DefaultNamespace, "huge")
		for _, e := range evals {
			if e.Status == structs.EvalStatusPending {
				return false
			}
		}
		return j.Status == structs.JobStatusDead || len(blockedEvals()) > 0
	})
	waitFor(t, 10*time.Second, func() bool {
		ds, _ := s.State().DeploymentsByJob(nil, structs.DefaultNamespace, "huge")
		for _, d := range ds {
			if d.Active() {
				return false
			}
		}
		return true
	})
	if err := s.RPC("System.GarbageCollect", &structs.SystemGCRequest{}, &structs.SystemGCResponse{}); err != nil {
		t.Fatal(err)
	}
	if jobStored(s, "huge") {
		evals, _ := s.State().EvalsByJob(nil, structs.DefaultNamespace, "huge")
		for _, e := range evals {
			t.Logf("eval %s %s %s", e.ID, e.Status, e.StatusDescription)
		}
		t.Errorf("stopped job with a blocked evaluation not collected")
	}
}
