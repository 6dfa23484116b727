package scheduler

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// scenario is one data-driven scheduler test: a cluster, a job, existing
// allocations, one eval, and what the plan and eval must look like.
type scenario struct {
	Config *SchedulerConfiguration
	Nodes  []scenarioNode
	Job    *structs.Job
	// OldJob is the version existing allocs with Old set run.
	OldJob *structs.Job
	// Stopped marks the job stopped; Missing leaves it out of state.
	Stopped bool
	Missing bool
	Allocs  []scenarioAlloc
	Eval    structs.Evaluation
	// RejectFirst makes the planner refresh this many plans.
	RejectFirst int
	Expect      scenarioExpect
}

type scenarioNode struct {
	ID       string
	Repeat   int // build Repeat nodes named ID-0..ID-(Repeat-1)
	DC       string
	Pool     string
	Class    string
	CPU      int64
	Mem      int64
	Status   string
	Drain    bool
	Inelig   bool
	Attrs    map[string]string
	Meta     map[string]string
	Drivers  []string
	Reserved string // reserved host ports
}

type scenarioAlloc struct {
	ID      string
	Node    string
	Name    string
	Group   string
	Client  string
	Desired string
	CPU     int64
	Mem     int64
	Ports   []int
	Old     bool
	Migrate bool
	// FailedAgo is how long before now the alloc failed.
	FailedAgo string
	// Reschedules is how many times it was already rescheduled, just now.
	Reschedules int
	Followup    string
	Previous    string
	// OtherJob makes the alloc belong to another job, of OtherPriority.
	OtherJob      bool
	OtherPriority int
}

type scenarioExpect struct {
	// Placed counts new allocs per group; PlacedNodes per node.
	Placed      map[string]int
	PlacedNodes map[string]int
	// PlacedDC counts new allocs per datacenter.
	PlacedDC map[string]int
	// Names of the new allocs, sorted.
	Names []string
	// Stopped lists stopped alloc IDs, sorted; Lost those stopped as lost.
	Stopped []string
	Lost    []string
	// Updated lists allocs updated in place.
	Updated []string
	// Previous maps new alloc name to the alloc it replaces.
	Previous map[string]string
	// Failed maps group to expected metric fields.
	Failed    map[string]scenarioMetric
	Queued    map[string]int
	Blocked   bool
	Followups int
	// FollowupAllocs lists allocs marked with a created follow-up eval.
	FollowupAllocs []string
	// Preempted counts evals created for jobs that lost allocs.
	Preempted  int
	EvalStatus string
	Plans      int
}

type scenarioMetric struct {
	Exhausted map[string]int
	Filtered  map[string]int
}

func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("Glob(testdata) = %v, %v, want files", files, err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var sc scenario
			dec := json.NewDecoder(strings.NewReader(string(raw)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&sc); err != nil {
				t.Fatalf("decode %s: %v", f, err)
			}
			// Each scenario runs against a state that keeps node usage
			// (as the server's store does) and one that does not, so the
			// scheduler's two ways of loading a node agree.
			t.Run("usage", func(t *testing.T) { runScenario(t, &sc, false) })
			t.Run("sum", func(t *testing.T) { runScenario(t, &sc, true) })
		})
	}
}

func runScenario(t *testing.T, sc *scenario, hideUsage bool) {
	h := newHarness(t)
	h.hideUsage = hideUsage
	h.state.config = sc.Config
	h.rejectFirst = sc.RejectFirst
	for _, sn := range sc.Nodes {
		for _, n := range buildNodes(sn) {
			h.state.upsertNode(n)
		}
	}
	job := sc.Job
	canonicalize(job)
	old := sc.OldJob
	if old == nil {
		c := *job
		old = &c
	} else {
		canonicalize(old)
	}
	if !sc.Missing {
		h.state.upsertJob(job)
	}
	job.Stop = sc.Stopped
	old.JobModifyIndex = job.JobModifyIndex
	if sc.OldJob != nil {
		old.Version, old.JobModifyIndex = job.Version-1, job.JobModifyIndex-1
	}
	for _, sa := range sc.Allocs {
		h.state.upsertAlloc(buildAlloc(h, job, old, sa))
	}
	eval := sc.Eval
	eval.ID = "eval-" + job.ID
	if err := h.process(job, &eval); err != nil {
		t.Fatalf("Process() = %v, want nil", err)
	}
	checkExpect(t, h, sc)
}

func canonicalize(j *structs.Job) {
	if j.Namespace == "" {
		j.Namespace = structs.DefaultNamespace
	}
	if j.Type == "" {
		j.Type = structs.JobTypeService
	}
	if j.Priority == 0 {
		j.Priority = structs.DefaultJobPriority
	}
	if j.Name == "" {
		j.Name = j.ID
	}
	for _, tg := range j.TaskGroups {
		for _, task := range tg.Tasks {
			if task.Driver == "" {
				task.Driver = "exec"
			}
		}
	}
}

func buildNodes(sn scenarioNode) []*structs.Node {
	ids := []string{sn.ID}
	if sn.Repeat > 0 {
		ids = nil
		for i := 0; i < sn.Repeat; i++ {
			ids = append(ids, fmt.Sprintf("%s-%d", sn.ID, i))
		}
	}
	var out []*structs.Node
	for _, id := range ids {
		cpu, mem := sn.CPU, sn.Mem
		if cpu == 0 {
			cpu = 4000
		}
		if mem == 0 {
			mem = 8192
		}
		n := testNode(id, cpu, mem)
		if sn.DC != "" {
			n.Datacenter = sn.DC
		}
		if sn.Pool != "" {
			n.NodePool = sn.Pool
		}
		n.NodeClass = sn.Class
		if sn.Status != "" {
			n.Status = sn.Status
		}
		n.Drain = sn.Drain
		if sn.Inelig {
			n.SchedulingEligibility = structs.NodeSchedulingIneligible
		}
		for k, v := range sn.Attrs {
			n.Attributes[k] = v
		}
		for k, v := range sn.Meta {
			n.Meta[k] = v
		}
		if sn.Drivers != nil {
			n.Drivers = map[string]*structs.DriverInfo{}
			for _, d := range sn.Drivers {
				n.Drivers[d] = &structs.DriverInfo{Detected: true, Healthy: true}
			}
		}
		if sn.Reserved != "" {
			n.ReservedResources = &structs.NodeReservedResources{Networks: structs.NodeReservedNetworkResources{ReservedHostPorts: sn.Reserved}}
		}
		n.ComputedClass = computedClass(n)
		out = append(out, n)
	}
	return out
}

// computedClass hashes what a class shares, as the server does: everything
// scheduling reads except unique.* values.
func computedClass(n *structs.Node) string {
	var parts []string
	for k, v := range n.Attributes {
		if !strings.HasPrefix(k, "unique.") {
			parts = append(parts, "a:"+k+"="+v)
		}
	}
	for k, v := range n.Meta {
		parts = append(parts, "m:"+k+"="+v)
	}
	for k, d := range n.Drivers {
		parts = append(parts, fmt.Sprintf("d:%s=%v", k, d.Healthy))
	}
	sort.Strings(parts)
	return fmt.Sprintf("%s|%s|%s|%s", n.Datacenter, n.NodeClass, n.NodePool, strings.Join(parts, ","))
}

func buildAlloc(h *harness, job, old *structs.Job, sa scenarioAlloc) *structs.Allocation {
	j := job
	if sa.Old {
		j = old
	}
	group := sa.Group
	if group == "" {
		group = job.TaskGroups[0].Name
	}
	a := &structs.Allocation{
		ID:                 sa.ID,
		Namespace:          job.Namespace,
		Name:               sa.Name,
		NodeID:             sa.Node,
		JobID:              job.ID,
		Job:                j,
		TaskGroup:          group,
		DesiredStatus:      orDefault(sa.Desired, structs.AllocDesiredStatusRun),
		ClientStatus:       orDefault(sa.Client, structs.AllocClientStatusRunning),
		FollowupEvalID:     sa.Followup,
		PreviousAllocation: sa.Previous,
		AllocatedResources: &structs.AllocatedResources{Tasks: map[string]*structs.AllocatedTaskResources{
			"t": {Cpu: structs.AllocatedCpuResources{CpuShares: sa.CPU}, Memory: structs.AllocatedMemoryResources{MemoryMB: sa.Mem}},
		}},
		CreateTime: h.now.Add(-time.Hour).UnixNano(),
		ModifyTime: h.now.Add(-time.Hour).UnixNano(),
	}
	if sa.OtherJob {
		a.JobID = "other"
		a.Job = &structs.Job{ID: "other", Namespace: job.Namespace, Type: structs.JobTypeService, Priority: orDefaultInt(sa.OtherPriority, structs.DefaultJobPriority)}
	}
	for _, p := range sa.Ports {
		a.AllocatedResources.Shared.Ports = append(a.AllocatedResources.Shared.Ports, structs.AllocatedPortMapping{Value: p})
	}
	if sa.Migrate {
		yes := true
		a.DesiredTransition.Migrate = &yes
	}
	if sa.FailedAgo != "" {
		d, err := time.ParseDuration(sa.FailedAgo)
		if err != nil {
			h.t.Fatalf("alloc %s FailedAgo: %v", sa.ID, err)
		}
		a.ModifyTime = h.now.Add(-d).UnixNano()
	}
	if sa.Reschedules > 0 {
		a.RescheduleTracker = &structs.RescheduleTracker{}
		for i := 0; i < sa.Reschedules; i++ {
			a.RescheduleTracker.Events = append(a.RescheduleTracker.Events, &structs.RescheduleEvent{RescheduleTime: h.now.Add(-time.Minute).UnixNano()})
		}
	}
	return a
}

func orDefaultInt(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func checkExpect(t *testing.T, h *harness, sc *scenario) {
	t.Helper()
	ex := sc.Expect
	var placed []*structs.Allocation
	var updated, stopped, lost []string
	for _, p := range h.plans[max(0, len(h.plans)-1):] {
		for _, allocs := range p.NodeAllocation {
			for _, a := range allocs {
				if a.EvalID == p.EvalID && a.Metrics != nil {
					placed = append(placed, a)
				} else if !a.TerminalStatus() {
					updated = append(updated, a.ID)
				}
			}
		}
		for _, allocs := range p.NodeUpdate {
			for _, a := range allocs {
				stopped = append(stopped, a.ID)
				if a.ClientStatus == structs.AllocClientStatusLost {
					lost = append(lost, a.ID)
				}
			}
		}
	}
	byGroup, byNode, byDC := map[string]int{}, map[string]int{}, map[string]int{}
	var names []string
	prev := map[string]string{}
	for _, a := range placed {
		byGroup[a.TaskGroup]++
		byNode[a.NodeID]++
		byDC[h.state.nodeBy[a.NodeID].Datacenter]++
		names = append(names, a.Name)
		if a.PreviousAllocation != "" {
			prev[a.Name] = a.PreviousAllocation
		}
	}
	sort.Strings(names)
	sort.Strings(updated)
	sort.Strings(stopped)
	sort.Strings(lost)
	checkMap(t, "placed per group", byGroup, ex.Placed)
	if ex.PlacedNodes != nil {
		checkMap(t, "placed per node", byNode, ex.PlacedNodes)
	}
	if ex.PlacedDC != nil {
		checkMap(t, "placed per datacenter", byDC, ex.PlacedDC)
	}
	if ex.Names != nil && !reflect.DeepEqual(names, ex.Names) {
		t.Errorf("names = %v, want %v", names, ex.Names)
	}
	checkList(t, "stopped", stopped, ex.Stopped)
	checkList(t, "lost", lost, ex.Lost)
	checkList(t, "updated", updated, ex.Updated)
	if ex.Previous != nil {
		checkMap(t, "previous", prev, ex.Previous)
	}
	ev := h.lastEval()
	if ev == nil {
		if len(h.reblock) == 0 {
			t.Fatalf("eval not updated or reblocked")
		}
		ev = h.reblock[0]
	}
	if got, want := ev.Status, orDefault(ex.EvalStatus, structs.EvalStatusComplete); got != want && len(h.reblock) == 0 {
		t.Errorf("eval status = %q, want %q", got, want)
	}
	gotFailed := map[string]scenarioMetric{}
	for tg, m := range ev.FailedTGAllocs {
		gotFailed[tg] = scenarioMetric{Exhausted: m.DimensionExhausted, Filtered: m.ConstraintFiltered}
	}
	if len(gotFailed) != 0 || len(ex.Failed) != 0 {
		if !reflect.DeepEqual(gotFailed, ex.Failed) {
			t.Errorf("failed = %+v, want %+v", gotFailed, ex.Failed)
		}
	}
	if ex.Queued != nil {
		checkMap(t, "queued", ev.QueuedAllocations, ex.Queued)
	}
	blocked, followups, preempted := 0, 0, 0
	for _, e := range h.created {
		switch {
		case e.Status == structs.EvalStatusBlocked:
			blocked++
		case e.TriggeredBy == EvalTriggerPreemption:
			preempted++
		case e.Status == structs.EvalStatusPending:
			followups++
			if !e.WaitUntil.After(h.now) {
				t.Errorf("follow-up WaitUntil = %v, want after %v", e.WaitUntil, h.now)
			}
		}
	}
	if got, want := blocked > 0 || len(h.reblock) > 0, ex.Blocked; got != want {
		t.Errorf("blocked = %v, want %v", got, want)
	}
	created := map[string]bool{}
	for _, e := range h.created {
		created[e.ID] = true
	}
	var marked []string
	for _, p := range h.plans[max(0, len(h.plans)-1):] {
		for _, allocs := range p.NodeAllocation {
			for _, a := range allocs {
				if a.FollowupEvalID != "" && created[a.FollowupEvalID] {
					marked = append(marked, a.ID)
				}
			}
		}
	}
	sort.Strings(marked)
	checkList(t, "follow-up allocs", marked, ex.FollowupAllocs)
	if got, want := followups, ex.Followups; got != want {
		t.Errorf("follow-up evals = %d, want %d", got, want)
	}
	if got, want := preempted, ex.Preempted; got != want {
		t.Errorf("preemption evals = %d, want %d", got, want)
	}
	if ex.Plans != 0 && len(h.plans) != ex.Plans {
		t.Errorf("plans = %d, want %d", len(h.plans), ex.Plans)
	}
}

func checkMap[V comparable](t *testing.T, what string, got, want map[string]V) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func checkList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}
