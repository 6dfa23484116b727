package server

import (
	"bytes"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/pool"
	"github.com/nomadish/nomadish/nomadish/structs"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func testServer(t *testing.T, dir string) *Server {
	t.Helper()
	return testServerWith(t, dir, func(*Config) {})
}

func testServerWith(t *testing.T, dir string, modify func(*Config)) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: testWriter{t}})
	cfg.NodeName = "test-server"
	cfg.DataDir = dir
	cfg.DevMode = true
	cfg.RPCAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg.NumSchedulers = 2
	modify(cfg)
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatalf("NewServer() error = %v", err)
	}
	waitFor(t, 10*time.Second, func() bool { return s.IsLeader() && s.evalBroker.Enabled() })
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testNode(id string) *structs.Node {
	return &structs.Node{
		ID:         id,
		Name:       "node-" + id[:4],
		Datacenter: "dc1",
		NodePool:   "default",
		Status:     structs.NodeStatusReady,
		Attributes: map[string]string{"driver.raw_exec": "1", "kernel.name": "linux"},
		Drivers:    map[string]*structs.DriverInfo{"raw_exec": {Detected: true, Healthy: true}},
		NodeResources: &structs.NodeResources{
			Cpu:            structs.NodeCpuResources{CpuShares: 4000},
			Memory:         structs.NodeMemoryResources{MemoryMB: 4096},
			Disk:           structs.NodeDiskResources{DiskMB: 10000},
			MinDynamicPort: 20000,
			MaxDynamicPort: 32000,
		},
	}
}

func testJob(id string, count int) *structs.Job {
	return &structs.Job{
		ID:          id,
		Name:        id,
		Type:        structs.JobTypeService,
		Datacenters: []string{"dc1"},
		TaskGroups: []*structs.TaskGroup{{
			Name:  "web",
			Count: count,
			Tasks: []*structs.Task{{
				Name:      "server",
				Driver:    "raw_exec",
				Config:    map[string]interface{}{"command": "/bin/sleep", "args": []interface{}{"60"}},
				Resources: &structs.Resources{CPU: 100, MemoryMB: 64},
			}},
		}},
	}
}

func liveAllocs(t *testing.T, s *Server, jobID string) []*structs.Allocation {
	t.Helper()
	all, err := s.State().AllocsByJob(memdb.NewWatchSet(), "default", jobID)
	if err != nil {
		t.Fatalf("AllocsByJob() error = %v", err)
	}
	var out []*structs.Allocation
	for _, a := range all {
		if !a.TerminalStatus() {
			out = append(out, a)
		}
	}
	return out
}

func TestServer_RegisterJobPlacesAllocations(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()

	nodeID := structs.GenerateUUID()
	var nreply structs.NodeUpdateResponse
	if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: testNode(nodeID)}, &nreply); err != nil {
		t.Fatalf("Node.Register error = %v", err)
	}
	if nreply.HeartbeatTTL <= 0 {
		t.Errorf("HeartbeatTTL = %s, want > 0", nreply.HeartbeatTTL)
	}

	var jreply structs.JobRegisterResponse
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: testJob("web", 3)}, &jreply); err != nil {
		t.Fatalf("Job.Register error = %v", err)
	}
	if jreply.EvalID == "" {
		t.Fatalf("Job.Register EvalID empty")
	}
	waitFor(t, 10*time.Second, func() bool { return len(liveAllocs(t, s, "web")) == 3 })

	eval, _ := s.State().EvalByID(nil, jreply.EvalID)
	waitFor(t, 5*time.Second, func() bool {
		eval, _ = s.State().EvalByID(nil, jreply.EvalID)
		return eval.Status == structs.EvalStatusComplete
	})

	// The client's blocking query sees the allocations.
	var ca structs.NodeClientAllocsResponse
	if err := s.RPC("Node.GetClientAllocs", &structs.NodeSpecificRequest{NodeID: nodeID}, &ca); err != nil {
		t.Fatalf("GetClientAllocs error = %v", err)
	}
	if len(ca.Allocs) != 3 {
		t.Fatalf("GetClientAllocs = %d allocs, want 3", len(ca.Allocs))
	}

	// A blocking query with the current index waits until something changes.
	done := make(chan structs.NodeClientAllocsResponse, 1)
	go func() {
		var r structs.NodeClientAllocsResponse
		_ = s.RPC("Node.GetClientAllocs", &structs.NodeSpecificRequest{NodeID: nodeID, QueryOptions: structs.QueryOptions{MinQueryIndex: ca.Index, MaxQueryTime: 10 * time.Second}}, &r)
		done <- r
	}()
	select {
	case <-done:
		t.Fatalf("blocking query returned before any change")
	case <-time.After(200 * time.Millisecond):
	}

	// Client reports running: the job runs.
	var updates []*structs.Allocation
	for _, a := range liveAllocs(t, s, "web") {
		updates = append(updates, &structs.Allocation{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning})
	}
	if err := s.RPC("Node.UpdateAlloc", &structs.AllocUpdateRequest{Alloc: updates}, &structs.GenericResponse{}); err != nil {
		t.Fatalf("UpdateAlloc error = %v", err)
	}
	job, _ := s.State().JobByID(nil, "default", "web")
	if job.Status != structs.JobStatusRunning {
		t.Errorf("job status = %q, want running", job.Status)
	}

	// Stopping the job stops its allocations and wakes the client.
	var dreply structs.JobDeregisterResponse
	if err := s.RPC("Job.Deregister", &structs.JobDeregisterRequest{JobID: "web"}, &dreply); err != nil {
		t.Fatalf("Job.Deregister error = %v", err)
	}
	select {
	case r := <-done:
		if r.Index <= ca.Index {
			t.Errorf("blocking query index = %d, want > %d", r.Index, ca.Index)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("blocking query did not wake on the stop")
	}
	waitFor(t, 10*time.Second, func() bool { return len(liveAllocs(t, s, "web")) == 0 })
}

func TestServer_PlacementFailureBlocksAndUnblocks(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()

	var jreply structs.JobRegisterResponse
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: testJob("pending", 2)}, &jreply); err != nil {
		t.Fatalf("Job.Register error = %v", err)
	}
	var eval *structs.Evaluation
	waitFor(t, 10*time.Second, func() bool {
		eval, _ = s.State().EvalByID(nil, jreply.EvalID)
		return eval.Status == structs.EvalStatusComplete
	})
	if len(eval.FailedTGAllocs) == 0 || eval.BlockedEval == "" {
		t.Fatalf("eval FailedTGAllocs = %v, BlockedEval = %q; want a failure and a blocked eval", eval.FailedTGAllocs, eval.BlockedEval)
	}
	waitFor(t, 5*time.Second, func() bool { return s.blockedEvals.Len() == 1 })

	// A node joins: the blocked eval places the work.
	if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: testNode(structs.GenerateUUID())}, &structs.NodeUpdateResponse{}); err != nil {
		t.Fatalf("Node.Register error = %v", err)
	}
	waitFor(t, 10*time.Second, func() bool { return len(liveAllocs(t, s, "pending")) == 2 })
}

func TestServer_StateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := testServer(t, dir)
	if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: testNode(structs.GenerateUUID())}, &structs.NodeUpdateResponse{}); err != nil {
		t.Fatalf("Node.Register error = %v", err)
	}
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: testJob("durable", 2)}, &structs.JobRegisterResponse{}); err != nil {
		t.Fatalf("Job.Register error = %v", err)
	}
	waitFor(t, 10*time.Second, func() bool { return len(liveAllocs(t, s, "durable")) == 2 })
	if err := s.Shutdown(); err != nil {
		t.Fatalf("Shutdown() error = %v", err)
	}

	s2 := testServer(t, dir)
	defer s2.Shutdown()
	job, err := s2.State().JobByID(nil, "default", "durable")
	if err != nil || job == nil {
		t.Fatalf("after restart JobByID = %v, %v; want the job", job, err)
	}
	if got := len(liveAllocs(t, s2, "durable")); got != 2 {
		t.Errorf("after restart live allocs = %d, want 2", got)
	}
}

func TestServer_RPCOverTCP(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()
	p := &pool.ConnPool{}
	defer p.Close()
	addr := s.rpcListener.Addr().String()

	var reply structs.JobRegisterResponse
	if err := p.Call(addr, "Job.Register", &structs.JobRegisterRequest{Job: testJob("tcp", 1)}, &reply, 5*time.Second); err != nil {
		t.Fatalf("Job.Register over TCP error = %v", err)
	}
	var got structs.SingleJobResponse
	if err := p.Call(addr, "Job.GetJob", &structs.JobSpecificRequest{JobID: "tcp"}, &got, 5*time.Second); err != nil {
		t.Fatalf("Job.GetJob over TCP error = %v", err)
	}
	if got.Job == nil || got.Job.TaskGroups[0].Tasks[0].Config["command"] != "/bin/sleep" {
		t.Fatalf("Job.GetJob over TCP = %+v, want the job with its task config", got.Job)
	}
	err := p.Call(addr, "Job.Deregister", &structs.JobDeregisterRequest{JobID: "missing"}, &structs.JobDeregisterResponse{}, 5*time.Second)
	if code, _ := ErrorCode(err); code != 404 {
		t.Errorf("Deregister(missing) over TCP code = %d (%v), want 404", code, err)
	}
}

func TestServer_SnapshotRestoreIntoFreshCluster(t *testing.T) {
	src := testServer(t, t.TempDir())
	if err := src.RPC("Node.Register", &structs.NodeRegisterRequest{Node: testNode(structs.GenerateUUID())}, &structs.NodeUpdateResponse{}); err != nil {
		t.Fatalf("Node.Register error = %v", err)
	}
	var jr structs.JobRegisterResponse
	if err := src.RPC("Job.Register", &structs.JobRegisterRequest{Job: testJob("snap", 2)}, &jr); err != nil {
		t.Fatalf("Job.Register error = %v", err)
	}
	waitFor(t, 10*time.Second, func() bool { return len(liveAllocs(t, src, "snap")) == 2 })
	var buf bytes.Buffer
	if err := src.SnapshotSave(&buf); err != nil {
		t.Fatalf("SnapshotSave() error = %v", err)
	}
	src.Shutdown()

	dst := testServer(t, t.TempDir())
	defer dst.Shutdown()
	// A blocking query on the fresh state must wake when the restore replaces it.
	woke := make(chan struct{})
	go func() {
		var r structs.JobListResponse
		_ = dst.RPC("Job.List", &structs.JobListRequest{QueryOptions: structs.QueryOptions{MinQueryIndex: 1, MaxQueryTime: 20 * time.Second}}, &r)
		close(woke)
	}()
	if err := dst.SnapshotRestore(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("SnapshotRestore() error = %v", err)
	}
	if job, _ := dst.State().JobByID(nil, "default", "snap"); job == nil {
		t.Fatalf("job missing after restore")
	}
	if got := len(liveAllocs(t, dst, "snap")); got != 2 {
		t.Errorf("allocations after restore = %d, want 2", got)
	}
	if n, _ := dst.State().Nodes(nil, ""); len(n) != 1 {
		t.Errorf("nodes after restore = %d, want 1", len(n))
	}
	if e, _ := dst.State().EvalByID(nil, jr.EvalID); e == nil {
		t.Errorf("evaluation missing after restore")
	}
	select {
	case <-woke:
	case <-time.After(5 * time.Second):
		t.Errorf("blocking query did not wake after the restore")
	}
	if err := dst.SnapshotRestore(bytes.NewReader([]byte("garbage"))); err == nil {
		t.Errorf("SnapshotRestore(garbage) = nil, want an error")
	}
}

func TestServer_SnapshotsTruncateTheLog(t *testing.T) {
	dir := t.TempDir()
	s := testServerWith(t, dir, func(c *Config) {
		c.RaftSnapshotThreshold = 40
		c.RaftSnapshotInterval = 50 * time.Millisecond
		c.RaftTrailingLogs = 10
	})
	for i := 0; i < 120; i++ {
		if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: testJob(fmt.Sprintf("j%d", i), 0)}, &structs.JobRegisterResponse{}); err != nil {
			t.Fatalf("Job.Register error = %v", err)
		}
	}
	waitFor(t, 20*time.Second, func() bool {
		first, err := s.raftStore.FirstIndex()
		return err == nil && first > 1 && s.raft.Stats()["last_snapshot_index"] != "0"
	})
	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}
	// Restart from snapshot plus the trailing log: every job is back.
	s2 := testServer(t, dir)
	defer s2.Shutdown()
	jobs, err := s2.State().Jobs(nil, "*", "")
	if err != nil || len(jobs) != 120 {
		t.Fatalf("after restart from snapshot jobs = %d, %v; want 120", len(jobs), err)
	}
}
