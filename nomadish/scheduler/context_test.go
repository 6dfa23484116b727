package scheduler

import (
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// TestLoadAllAgreesWithLoad fills every node's usage in one walk and node
// by node, with stops and in-place updates already in the plan, and
// expects the same usage for every node, nodes without allocations too.
func TestLoadAllAgreesWithLoad(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	st := newMemState()
	for i := 0; i < 40; i++ {
		st.upsertNode(testNode(nodeName(i), 8000, 16384))
	}
	job := testJob("web", 1, 100, 64)
	st.upsertJob(job)
	var live []*structs.Allocation
	for i := 0; i < 150; i++ {
		a := &structs.Allocation{
			ID: fmt.Sprintf("a%03d", i), Namespace: job.Namespace, JobID: job.ID, Job: job, TaskGroup: "web",
			NodeID: nodeName(rng.Intn(30)), DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning,
			AllocatedResources: &structs.AllocatedResources{Tasks: map[string]*structs.AllocatedTaskResources{"server": {
				Cpu:    structs.AllocatedCpuResources{CpuShares: int64(50 + rng.Intn(200))},
				Memory: structs.AllocatedMemoryResources{MemoryMB: int64(32 + rng.Intn(256))},
			}}},
		}
		if i%10 == 0 {
			a.ClientStatus = structs.AllocClientStatusComplete // terminal: holds nothing
		}
		st.upsertAlloc(a)
		live = append(live, a)
	}
	prepare := func() *evalContext {
		c := newEvalContext(st, hclog.NewNullLogger(), time.Unix(0, 0), &structs.Evaluation{ID: "e"}, job)
		for i, a := range live {
			switch i % 7 {
			case 0:
				c.stopAlloc(a, "stop", "")
			case 3:
				u := a.Copy()
				u.EvalID = "e"
				c.updateAlloc(u)
			}
		}
		if err := c.loadNodes(); err != nil {
			t.Fatal(err)
		}
		return c
	}
	bulk, single := prepare(), prepare()
	bulk.loadAll(len(bulk.nodes))
	if bulk.err != nil {
		t.Fatal(bulk.err)
	}
	for _, e := range single.nodes {
		single.load(e)
		b := bulk.entry(e.node.ID)
		if !b.loaded {
			t.Fatalf("node %s not loaded by loadAll", e.node.ID)
		}
		if b.used != e.used {
			t.Fatalf("node %s: loadAll used %+v, load used %+v", e.node.ID, b.used, e.used)
		}
	}

	// One placement on a large cluster visits a few nodes: no walk.
	few := prepare()
	few.loadAll(1)
	for _, e := range few.nodes {
		if e.loaded {
			t.Fatalf("loadAll(1) on %d nodes loaded %s; want the nodes left to load on visit", len(few.nodes), e.node.ID)
		}
	}
}

// The candidate table is reused across evaluations: an evaluation on a
// smaller cluster must see only its own nodes, with nothing left of the
// earlier one's usage or memos.
func TestCandidateTableReuse(t *testing.T) {
	big := newHarness(t)
	for i := 0; i < 40; i++ {
		big.state.upsertNode(testNode(fmt.Sprintf("big-%02d", i), 4000, 8192))
	}
	job := testJob("web", 60, 1000, 1024)
	big.state.upsertJob(job)
	if err := big.process(job, &structs.Evaluation{}); err != nil {
		t.Fatal(err)
	}
	if got := len(big.placed()); got != 60 {
		t.Fatalf("big cluster placed %d, want 60", got)
	}
	for round := 0; round < 3; round++ {
		small := newHarness(t)
		small.state.upsertNode(testNode("small-0", 4000, 8192))
		small.state.upsertNode(testNode("small-1", 4000, 8192))
		job := testJob("api", 10, 1000, 1024)
		small.state.upsertJob(job)
		if err := small.process(job, &structs.Evaluation{}); err != nil {
			t.Fatal(err)
		}
		placed := small.placed()
		if len(placed) != 8 {
			t.Fatalf("round %d: small cluster placed %d, want 8 (4 per node)", round, len(placed))
		}
		for _, a := range placed {
			if !strings.HasPrefix(a.NodeID, "small-") {
				t.Fatalf("round %d: placed on %s, a node of the earlier evaluation", round, a.NodeID)
			}
			if a.Metrics.NodesEvaluated > 2 || a.Metrics.NodesInPool != 2 {
				t.Fatalf("round %d: metrics evaluated %d nodes of a pool of %d, want at most 2 of 2", round, a.Metrics.NodesEvaluated, a.Metrics.NodesInPool)
			}
		}
		failed := small.lastEval().FailedTGAllocs["web"]
		if failed == nil || failed.NodesEvaluated != 2 {
			t.Fatalf("round %d: failed placements = %+v, want 2 nodes evaluated", round, failed)
		}
	}
}

// The placements of one evaluation share what is the same for all of them:
// the grant of a group without networks, ports or cores, and the score
// map of equal scores. A group with ports gets a grant per placement.
func TestPlacementsShareGrantsAndScores(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 4; i++ {
		h.state.upsertNode(testNode(nodeName(i), 4000, 8192))
	}
	plain := testJob("plain", 12, 250, 256)
	h.state.upsertJob(plain)
	if err := h.process(plain, &structs.Evaluation{}); err != nil {
		t.Fatal(err)
	}
	placed := h.placed()
	if len(placed) != 12 {
		t.Fatalf("placed %d, want 12", len(placed))
	}
	scoreMaps := map[uintptr][4]float64{}
	for _, a := range placed {
		if a.AllocatedResources != placed[0].AllocatedResources {
			t.Fatal("placements of a plain group hold grants of their own")
		}
		if r := a.AllocatedResources.Tasks["server"]; r.Cpu.CpuShares != 250 || r.Memory.MemoryMB != 256 {
			t.Fatalf("grant = %+v", r)
		}
		sm := a.Metrics.ScoreMetaData[0].Scores
		k := [4]float64{sm[structs.ScoreBinpack], sm[structs.ScoreJobAntiAffinity], sm[structs.ScoreNodeAffinity], sm[structs.ScoreAllocationSpread]}
		p := reflect.ValueOf(sm).Pointer()
		if seen, ok := scoreMaps[p]; ok && seen != k {
			t.Fatalf("different scores %v and %v share a map", seen, k)
		}
		scoreMaps[p] = k
	}
	distinct := map[[4]float64]bool{}
	for _, k := range scoreMaps {
		if distinct[k] {
			t.Fatalf("equal scores %v are held in two maps", k)
		}
		distinct[k] = true
	}
	if len(scoreMaps) >= len(placed) {
		t.Fatalf("%d score maps for %d placements on 4 like nodes", len(scoreMaps), len(placed))
	}

	ported := testJob("ported", 3, 250, 256)
	ported.TaskGroups[0].Networks = []*structs.NetworkResource{{DynamicPorts: []structs.Port{{Label: "http"}}}}
	h.state.upsertJob(ported)
	if err := h.process(ported, &structs.Evaluation{}); err != nil {
		t.Fatal(err)
	}
	grants := map[*structs.AllocatedResources]bool{}
	for _, a := range h.placed() {
		if a.JobID == "ported" {
			grants[a.AllocatedResources] = true
		}
	}
	if len(grants) != 3 {
		t.Fatalf("3 placements with ports hold %d grants, want 3", len(grants))
	}
}
