package scheduler

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// memState is an in-memory State for tests: plans are applied to it.
type memState struct {
	index  uint64
	jobs   map[structs.NamespacedID]*structs.Job
	nodes  []*structs.Node
	nodeBy map[string]*structs.Node
	allocs map[string]*structs.Allocation
	byNode map[string][]*structs.Allocation
	byJob  map[structs.NamespacedID][]*structs.Allocation
	// usage sums each node's live allocations, kept by upsertAlloc as the
	// server's store keeps it.
	usage  map[string]structs.ComparableResources
	config *SchedulerConfiguration
	// catalog is the nodes' catalogue, kept until a node changes as the
	// server's store keeps it.
	catalog *structs.NodeCatalog
}

var (
	_ State            = (*memState)(nil)
	_ NodeUsageState   = (*memState)(nil)
	_ NodeCatalogState = (*memState)(nil)
)

func newMemState() *memState {
	return &memState{
		index:  1,
		jobs:   map[structs.NamespacedID]*structs.Job{},
		nodeBy: map[string]*structs.Node{},
		allocs: map[string]*structs.Allocation{},
		byNode: map[string][]*structs.Allocation{},
		byJob:  map[structs.NamespacedID][]*structs.Allocation{},
		usage:  map[string]structs.ComparableResources{},
	}
}

func (s *memState) LatestIndex() uint64 { return s.index }

func (s *memState) JobByID(ns, id string) (*structs.Job, error) {
	return s.jobs[structs.NamespacedID{ID: id, Namespace: ns}], nil
}

func (s *memState) Nodes() ([]*structs.Node, error) {
	return append([]*structs.Node(nil), s.nodes...), nil
}

func (s *memState) NodeByID(id string) (*structs.Node, error) { return s.nodeBy[id], nil }

func (s *memState) NodeCatalog() (*structs.NodeCatalog, error) {
	if s.catalog == nil {
		s.catalog = structs.NewNodeCatalog(s.nodes)
	}
	return s.catalog, nil
}

func (s *memState) AllocsByJob(ns, id string) ([]*structs.Allocation, error) {
	return append([]*structs.Allocation(nil), s.byJob[structs.NamespacedID{ID: id, Namespace: ns}]...), nil
}

func (s *memState) AllocsByNode(id string) ([]*structs.Allocation, error) {
	return append([]*structs.Allocation(nil), s.byNode[id]...), nil
}

func (s *memState) NodeUsage(id string) (structs.ComparableResources, error) {
	return s.usage[id], nil
}

func (s *memState) FillUsage(c *structs.NodeCatalog, used []structs.ComparableResources) error {
	for i := range c.Nodes {
		used[i] = s.usage[c.Nodes[i].Node.ID]
	}
	return nil
}

// track moves a node's usage from the old version of an alloc to the new.
func (s *memState) track(old, new *structs.Allocation) {
	for sign, a := range map[int64]*structs.Allocation{-1: old, 1: new} {
		if a == nil || a.TerminalStatus() {
			continue
		}
		u, r := s.usage[a.NodeID], structs.AllocComparableResources(a)
		u.CpuShares += sign * r.CpuShares
		u.MemoryMB += sign * r.MemoryMB
		u.DiskMB += sign * r.DiskMB
		s.usage[a.NodeID] = u
	}
}

func (s *memState) SchedulerConfig() *SchedulerConfiguration { return s.config }

func (s *memState) upsertJob(j *structs.Job) {
	s.index++
	if j.Namespace == "" {
		j.Namespace = structs.DefaultNamespace
	}
	j.ModifyIndex, j.JobModifyIndex = s.index, s.index
	s.jobs[j.NamespacedID()] = j
}

func (s *memState) upsertNode(n *structs.Node) {
	s.index++
	if _, ok := s.nodeBy[n.ID]; !ok {
		s.nodes = append(s.nodes, n)
	} else {
		for i, old := range s.nodes {
			if old.ID == n.ID {
				s.nodes[i] = n
			}
		}
	}
	s.nodeBy[n.ID] = n
	s.catalog = nil
}

func (s *memState) upsertAlloc(a *structs.Allocation) {
	s.index++
	if a.CreateIndex == 0 {
		a.CreateIndex = s.index
	}
	a.ModifyIndex = s.index
	key := structs.NamespacedID{ID: a.JobID, Namespace: a.Namespace}
	s.track(s.allocs[a.ID], a)
	if old, ok := s.allocs[a.ID]; ok {
		if a.Job == nil {
			a.Job = old.Job
		}
		replace(s.byNode[old.NodeID], old, a)
		replace(s.byJob[key], old, a)
	} else {
		s.byNode[a.NodeID] = append(s.byNode[a.NodeID], a)
		s.byJob[key] = append(s.byJob[key], a)
	}
	s.allocs[a.ID] = a
}

func replace(list []*structs.Allocation, old, new *structs.Allocation) {
	for i, a := range list {
		if a == old {
			list[i] = new
		}
	}
}

// harness is a Planner that records everything and applies plans to its
// memState, checking each touched node with structs.AllocsFit as the
// leader's plan applier does.
type harness struct {
	t       testing.TB
	state   *memState
	now     time.Time
	plans   []*structs.Plan
	updates []*structs.Evaluation
	created []*structs.Evaluation
	reblock []*structs.Evaluation
	// noApply accepts plans without applying them (benchmarks).
	noApply bool
	// rejectFirst rejects the first n plans with a refresh.
	rejectFirst int
	// hideUsage hands the scheduler a State without NodeUsageState.
	hideUsage bool
}

var _ Planner = (*harness)(nil)

func newHarness(t testing.TB) *harness {
	return &harness{t: t, state: newMemState(), now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
}

func (h *harness) SubmitPlan(p *structs.Plan) (*structs.PlanResult, State, error) {
	h.plans = append(h.plans, p)
	if h.rejectFirst > 0 {
		h.rejectFirst--
		return &structs.PlanResult{RefreshIndex: h.state.index}, h.state, nil
	}
	res := &structs.PlanResult{NodeUpdate: p.NodeUpdate, NodeAllocation: p.NodeAllocation, AllocIndex: h.state.index + 1}
	if h.noApply {
		return res, nil, nil
	}
	for _, allocs := range p.NodeUpdate {
		for _, a := range allocs {
			c := h.state.allocs[a.ID].Copy()
			c.DesiredStatus, c.DesiredDescription = a.DesiredStatus, a.DesiredDescription
			c.ClientStatus = a.ClientStatus
			h.state.upsertAlloc(c)
		}
	}
	for _, allocs := range p.NodeAllocation {
		for _, a := range allocs {
			h.state.upsertAlloc(a)
		}
	}
	for node := range p.NodeAllocation {
		fit, dim, _, err := structs.AllocsFit(h.state.nodeBy[node], h.state.byNode[node])
		if err != nil || !fit {
			h.t.Errorf("AllocsFit(%s) = %v %q %v, want fit", node, fit, dim, err)
		}
	}
	return res, nil, nil
}

func (h *harness) UpdateEval(e *structs.Evaluation) error {
	h.updates = append(h.updates, e)
	return nil
}

func (h *harness) CreateEval(e *structs.Evaluation) error {
	h.created = append(h.created, e)
	return nil
}

func (h *harness) ReblockEval(e *structs.Evaluation) error {
	h.reblock = append(h.reblock, e)
	return nil
}

// process runs one eval for the job through a fresh scheduler.
func (h *harness) process(job *structs.Job, eval *structs.Evaluation) error {
	if eval.ID == "" {
		eval.ID = structs.GenerateUUID()
	}
	if eval.JobID == "" {
		eval.JobID, eval.Namespace, eval.Type, eval.Priority = job.ID, job.Namespace, job.Type, job.Priority
	}
	if eval.Status == "" {
		eval.Status = structs.EvalStatusPending
	}
	var st State = h.state
	if h.hideUsage {
		st = struct{ State }{h.state}
	}
	s, err := NewScheduler(eval.Type, hclog.NewNullLogger(), st, h, func() time.Time { return h.now })
	if err != nil {
		return err
	}
	return s.Process(eval)
}

// lastEval is the final update of the last processed eval.
func (h *harness) lastEval() *structs.Evaluation {
	if len(h.updates) == 0 {
		return nil
	}
	return h.updates[len(h.updates)-1]
}

// placed lists the allocations the last plan placed: new ones carry the
// plan's eval ID and placement metrics; in-place updates do not.
func (h *harness) placed() []*structs.Allocation {
	if len(h.plans) == 0 {
		return nil
	}
	p := h.plans[len(h.plans)-1]
	var out []*structs.Allocation
	for _, allocs := range p.NodeAllocation {
		for _, a := range allocs {
			if a.EvalID == p.EvalID && a.Metrics != nil {
				out = append(out, a)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// testNode builds a ready node with an exec driver.
func testNode(id string, cpu, mem int64) *structs.Node {
	return &structs.Node{
		ID:                    id,
		Name:                  id,
		Datacenter:            "dc1",
		NodePool:              structs.DefaultNodePool,
		Status:                structs.NodeStatusReady,
		SchedulingEligibility: structs.NodeSchedulingEligible,
		Attributes:            map[string]string{"kernel.name": "linux", "unique.network.ip-address": "10.0.0.1"},
		Meta:                  map[string]string{},
		Drivers:               map[string]*structs.DriverInfo{"exec": {Detected: true, Healthy: true}},
		ComputedClass:         "class-default",
		NodeResources: &structs.NodeResources{
			Cpu:            structs.NodeCpuResources{CpuShares: cpu},
			Memory:         structs.NodeMemoryResources{MemoryMB: mem},
			Disk:           structs.NodeDiskResources{DiskMB: 100 * 1024},
			MinDynamicPort: 20000,
			MaxDynamicPort: 32000,
		},
	}
}

// testJob builds a service job with one group of count tasks.
func testJob(id string, count int, cpu, mem int) *structs.Job {
	return &structs.Job{
		ID:          id,
		Name:        id,
		Namespace:   structs.DefaultNamespace,
		Type:        structs.JobTypeService,
		Priority:    50,
		Datacenters: []string{"dc*"},
		TaskGroups: []*structs.TaskGroup{{
			Name:  "web",
			Count: count,
			Tasks: []*structs.Task{{
				Name:      "server",
				Driver:    "exec",
				Resources: &structs.Resources{CPU: cpu, MemoryMB: mem},
			}},
		}},
	}
}

func nodeName(i int) string { return fmt.Sprintf("node-%04d", i) }
