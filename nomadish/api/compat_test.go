package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// TestNomadClientReadsOurJSON checks the wire shapes against Nomad's own
// api package: what our types encode, Nomad's client decodes, and what
// Nomad's client sends on register, we decode.
func TestNomadClientReadsOurJSON(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()
	job := &structs.Job{
		ID: "example", Name: "example", Type: "service", Priority: 50, Namespace: "default",
		Datacenters: []string{"dc1"},
		TaskGroups: []*structs.TaskGroup{{
			Name: "cache", Count: 2,
			Tasks: []*structs.Task{{Name: "redis", Driver: "docker", Config: map[string]any{"image": "redis:7"},
				Resources: &structs.Resources{CPU: 500, MemoryMB: 256}}},
		}},
	}
	alloc := &structs.Allocation{
		ID: "a1", EvalID: "e1", NodeID: "n1", JobID: "example", TaskGroup: "cache",
		DesiredStatus: "run", ClientStatus: "running", CreateTime: created,
		TaskStates: map[string]*structs.TaskState{"redis": {State: "running", Events: []*structs.TaskEvent{{Type: "Started", Time: created}}}},
	}
	eval := &structs.Evaluation{
		ID: "e1", JobID: "example", Status: "complete", TriggeredBy: "job-register", Wait: time.Second,
		FailedTGAllocs: map[string]*structs.AllocMetric{"cache": {NodesEvaluated: 3, NodesExhausted: 1,
			DimensionExhausted: map[string]int{"memory": 1}, CoalescedFailures: 1}},
	}
	// Node.Drivers[].UpdateTime and Node.Events[].Timestamp are Unix
	// numbers in structs but RFC 3339 strings in Nomad's api, so they are
	// left out here; see TestNomadNodeTimes.
	node := &structs.Node{ID: "n1", Name: "node1", Datacenter: "dc1", Status: "ready", SchedulingEligibility: "eligible"}

	var registered string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Nomad-Index", "7")
		var out any
		switch r.Method + " " + r.URL.Path {
		case "GET /v1/job/example":
			out = job
		case "GET /v1/allocation/a1":
			out = alloc
		case "GET /v1/evaluation/e1":
			out = eval
		case "GET /v1/node/n1":
			out = node
		case "GET /v1/jobs":
			out = []*structs.JobListStub{job.Stub(nil)}
		case "PUT /v1/jobs":
			b, _ := io.ReadAll(r.Body)
			registered = string(b)
			out = map[string]any{"EvalID": "e1", "EvalCreateIndex": 7, "JobModifyIndex": 7, "Index": 7}
		default:
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(out)
	}))
	defer srv.Close()

	nc, err := nomadapi.NewClient(&nomadapi.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}

	nj, _, err := nc.Jobs().Info("example", nil)
	if err != nil {
		t.Fatalf("nomad Jobs().Info() error = %v", err)
	}
	if *nj.ID != "example" || *nj.TaskGroups[0].Count != 2 || nj.TaskGroups[0].Tasks[0].Config["image"] != "redis:7" ||
		*nj.TaskGroups[0].Tasks[0].Resources.MemoryMB != 256 {
		t.Errorf("nomad Jobs().Info() = %+v, want the example job", nj)
	}

	na, _, err := nc.Allocations().Info("a1", nil)
	if err != nil {
		t.Fatalf("nomad Allocations().Info() error = %v", err)
	}
	if na.TaskStates["redis"].State != "running" || na.TaskStates["redis"].Events[0].Time != created || na.CreateTime != created {
		t.Errorf("nomad Allocations().Info() = %+v, want running redis", na)
	}

	ne, _, err := nc.Evaluations().Info("e1", nil)
	if err != nil {
		t.Fatalf("nomad Evaluations().Info() error = %v", err)
	}
	if ne.Wait != time.Second || ne.FailedTGAllocs["cache"].DimensionExhausted["memory"] != 1 ||
		ne.FailedTGAllocs["cache"].CoalescedFailures != 1 {
		t.Errorf("nomad Evaluations().Info() = %+v, want the failed placement", ne)
	}

	nn, _, err := nc.Nodes().Info("n1", nil)
	if err != nil {
		t.Fatalf("nomad Nodes().Info() error = %v", err)
	}
	if nn.SchedulingEligibility != "eligible" || nn.Name != "node1" {
		t.Errorf("nomad Nodes().Info() = %+v, want eligible node1", nn)
	}

	stubs, _, err := nc.Jobs().List(nil)
	if err != nil || len(stubs) != 1 || stubs[0].ID != "example" {
		t.Errorf("nomad Jobs().List() = %v, %v, want the example job", stubs, err)
	}

	resp, _, err := nc.Jobs().Register(nj, nil)
	if err != nil || resp.EvalID != "e1" {
		t.Fatalf("nomad Jobs().Register() = %+v, %v, want eval e1", resp, err)
	}
	var req JobRegisterRequest
	if err := json.Unmarshal([]byte(registered), &req); err != nil {
		t.Fatalf("decode Nomad's register body: %v", err)
	}
	if req.Job == nil || req.Job.ID != "example" || req.Job.TaskGroups[0].Tasks[0].Resources.CPU != 500 {
		t.Errorf("Nomad's register body decoded to %+v, want the example job", req.Job)
	}
}

// TestNomadNodeTimes reports whether node times have Nomad's encoding.
func TestNomadNodeTimes(t *testing.T) {
	node := &structs.Node{
		Drivers: map[string]*structs.DriverInfo{"docker": {Detected: true, Healthy: true}},
		Events:  []*structs.NodeEvent{{Message: "Node registered", Subsystem: "Cluster"}},
	}
	b, err := json.Marshal(node)
	if err != nil {
		t.Fatal(err)
	}
	var nn nomadapi.Node
	if err := json.Unmarshal(b, &nn); err != nil {
		t.Fatalf("structs.Node does not decode as Nomad's api.Node: %v", err)
	}
}
