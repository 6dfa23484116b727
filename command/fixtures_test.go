package command

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mitchellh/cli"
	"go.uber.org/goleak"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// Fixed identities and clock of the test cluster.
const (
	jobID   = "example"
	allocID = "0af996ed-1b2c-4d5e-8f90-a1b2c3d4e5f6"
	evalID  = "5744eb15-2c3d-4e5f-9a0b-b1c2d3e4f5a6"
	nodeID  = "f7476465-3d4e-4f5a-8b1c-c1d2e3f4a5b6"
	blockID = "9b8a7c6d-4e5f-4a1b-9c2d-d1e2f3a4b5c6"
)

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// TestMain prints times in UTC, so that expected output holds anywhere,
// and fails the run if a command leaves a goroutine behind.
func TestMain(m *testing.M) {
	time.Local = time.UTC
	goleak.VerifyTestMain(m)
}

const exampleHCL = `job "example" {
  datacenters = ["dc1"]

  group "cache" {
    task "redis" {
      driver = "docker"

      config {
        image = "redis:7"
      }

      resources {
        cpu    = 500
        memory = 256
      }
    }
  }
}
`

// writeFile writes content to a file in a fresh directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func testJob() *structs.Job {
	return &structs.Job{
		ID: jobID, Name: jobID, Namespace: "default", Type: "service", Priority: 50,
		Datacenters: []string{"dc1"}, NodePool: "default", Status: "running",
		SubmitTime: testNow.Add(-time.Hour).UnixNano(),
		TaskGroups: []*structs.TaskGroup{{
			Name: "cache", Count: 1,
			Tasks: []*structs.Task{{Name: "redis", Driver: "docker"}},
		}},
	}
}

func testAlloc() *structs.Allocation {
	created := testNow.Add(-5 * time.Minute).UnixNano()
	return &structs.Allocation{
		ID: allocID, EvalID: evalID, Name: "example.cache[0]", Namespace: "default",
		NodeID: nodeID, NodeName: "node1", JobID: jobID, Job: testJob(), TaskGroup: "cache",
		DesiredStatus: "run", ClientStatus: "running", ClientDescription: "Tasks are running",
		CreateIndex: 10, ModifyIndex: 12, CreateTime: created, ModifyTime: testNow.Add(-4 * time.Minute).UnixNano(),
		AllocatedResources: &structs.AllocatedResources{
			Tasks: map[string]*structs.AllocatedTaskResources{"redis": {
				Cpu:    structs.AllocatedCpuResources{CpuShares: 500},
				Memory: structs.AllocatedMemoryResources{MemoryMB: 256},
			}},
			Shared: structs.AllocatedSharedResources{DiskMB: 300,
				Ports: []structs.AllocatedPortMapping{{Label: "db", Value: 28696, To: 6379, HostIP: "127.0.0.1"}}},
		},
		TaskStates: map[string]*structs.TaskState{"redis": {
			State:     "running",
			StartedAt: testNow.Add(-5 * time.Minute),
			Events: []*structs.TaskEvent{
				{Type: "Received", Time: created},
				{Type: "Task Setup", Message: "Building Task Directory", Time: created + int64(time.Second)},
				{Type: "Started", Time: created + 2*int64(time.Second)},
			},
		}},
	}
}

func testEval(status string) *structs.Evaluation {
	return &structs.Evaluation{
		ID: evalID, Namespace: "default", Priority: 50, Type: "service", TriggeredBy: "job-register",
		JobID: jobID, Status: status, CreateIndex: 10, ModifyIndex: 11,
		CreateTime: testNow.Add(-5 * time.Minute).UnixNano(), ModifyTime: testNow.Add(-5 * time.Minute).UnixNano(),
	}
}

func testNode() *structs.Node {
	return &structs.Node{
		ID: nodeID, Name: "node1", Datacenter: "dc1", NodePool: "default", HTTPAddr: "",
		Status: "ready", SchedulingEligibility: "eligible",
		Attributes: map[string]string{"unique.network.ip-address": "127.0.0.1", "nomad.version": "0.1.0"},
		NodeResources: &structs.NodeResources{
			Cpu:    structs.NodeCpuResources{CpuShares: 4000},
			Memory: structs.NodeMemoryResources{MemoryMB: 8192},
			Disk:   structs.NodeDiskResources{DiskMB: 51200},
		},
		Drivers: map[string]*structs.DriverInfo{
			"docker":   {Detected: true, Healthy: true},
			"raw_exec": {Detected: true, Healthy: true},
			"exec":     {Detected: false},
		},
		Events: []*structs.NodeEvent{{Message: "Node registered", Subsystem: "Cluster", Timestamp: testNow.Add(-time.Hour)}},
	}
}

// testCluster is a fake agent holding one running job with one allocation.
func testCluster(t *testing.T) (*fakeAgent, string) {
	f := newFakeAgent(t)
	f.jobs[jobID] = testJob()
	f.summaries[jobID] = &structs.JobSummary{JobID: jobID, Summary: map[string]structs.TaskGroupSummary{"cache": {Running: 1}}}
	f.allocs[allocID] = testAlloc()
	f.evals[evalID] = testEval("complete")
	f.evalAllocs[evalID] = []string{allocID}
	f.nodes[nodeID] = testNode()
	f.registerResp = map[string]any{"EvalID": evalID, "EvalCreateIndex": 10, "JobModifyIndex": 9, "Index": 10}
	f.deregisterResp = map[string]any{"EvalID": evalID, "EvalCreateIndex": 10, "JobModifyIndex": 9, "Index": 10}
	return f, f.start()
}

func metaFor(ui cli.Ui) Meta { return Meta{Ui: ui} }
