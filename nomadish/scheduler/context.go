package scheduler

import (
	"hash/fnv"
	"math/bits"
	"math/rand"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/ryanuber/go-glob"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// nodeEntry is the evaluation's view of one candidate node: its resources
// with the plan applied, loaded on first visit, and per-group memos.
type nodeEntry struct {
	node  *structs.Node
	avail structs.ComparableResources // totals minus reserved
	used  structs.ComparableResources // existing allocs, plan applied
	// loaded says used is filled in.
	loaded bool
	// ports holds taken host ports (reserved and allocated), loaded on demand.
	ports       map[int]struct{}
	portsLoaded bool
	// dynUsed counts taken ports inside the dynamic range.
	dynUsed int
	// cores holds reserved core IDs, loaded on demand.
	cores       map[uint16]struct{}
	coresLoaded bool

	// Per-group memos, valid while group == ctx.group.
	group    uint32
	feasible int8   // 0 unknown, 1 feasible, -1 filtered
	filterBy string // constraint that filtered the node
	affinity float64
	affDone  bool
	// fit is the group's fit score, valid while fitAt == changes.
	fit   float64
	fitAt uint32
	fitOK bool
	// tgCount caches tgOnNode for the group until the node changes.
	tgCount   int
	tgCountOK bool
	// spreadIDs are the node's value ids for the group's spread blocks.
	spreadIDs []int32
	// changes counts plan changes on this node.
	changes uint32
	// exhausted is the dimension the group's ask did not fit, if any. Usage
	// only grows while one group places, so the answer holds until the next.
	exhausted string
	// seen stamps the node as visited by the current select.
	seen uint32
}

// nodeTG keys counts of a job's allocations per node and group.
type nodeTG struct {
	node, tg string
}

// evalContext holds what one evaluation attempt knows: the snapshot, the
// plan being built, proposed usage per node, and the current metrics.
type evalContext struct {
	state  State
	logger hclog.Logger
	now    time.Time
	eval   *structs.Evaluation
	job    *structs.Job
	plan   *structs.Plan
	algo   string
	// oversub allows MemoryMaxMB above MemoryMB.
	oversub bool

	// nodes are the ready nodes in the job's datacenters and pool.
	nodes []*nodeEntry
	// cat is the catalogue the candidates come from; pos numbers them by
	// its positions (entry).
	cat *structs.NodeCatalog
	pos []int32
	// scratch holds nodes and pos, for done.
	scratch *nodeScratch
	// available counts candidates per datacenter, for metrics.
	available map[string]int
	// scoreMaps holds the placements' score maps by value, for sharing.
	scoreMaps map[[4]float64]map[string]float64
	// nodeCache holds nodes looked up outside the candidate set.
	nodeCache map[string]*structs.Node

	// stopped and updated index the plan's changes to existing allocs.
	stopped map[string]*structs.Allocation
	updated map[string]*structs.Allocation
	// stoppedOn lists, per node, the stopped allocs that are live in the
	// snapshot, for nodes whose usage comes from NodeUsageState.
	stoppedOn map[string][]*structs.Allocation

	// jobAllocs are the job's non-terminal allocs in the snapshot.
	jobAllocs []*structs.Allocation
	// tgOnNode and jobOnNode count the job's proposed allocs.
	tgOnNode  map[nodeTG]int
	jobOnNode map[string]int
	// props track value counts for distinct_property and spread.
	props map[propKey]*propertySet

	// preempted are other jobs' allocs this plan evicts.
	preempted []*structs.Allocation

	// hot lists nodes the plan placed on, most recent first (binpack only).
	hot []*nodeEntry

	// group is bumped for every group placed so per-node memos reset.
	group uint32
	// classMemo caches static feasibility per computed class for the
	// group: "" when feasible, else the reason.
	classMemo map[string]string
	// classEligibility is reported on blocked evals.
	classEligibility map[string]bool
	escaped          bool

	// stamp numbers selects so sources can mark visited nodes.
	stamp uint32
	// version counts plan changes, so derived scores know when to refresh.
	version uint32
	ranks   rankSlab

	metrics *structs.AllocMetric
	rng     *rand.Rand
	// idLead is the first byte of the IDs of the allocations this pass
	// places, which keeps them together in the store (GenerateUUIDLed).
	idLead byte
	cache  constraintCache
	// err is the first state error met inside an iterator.
	err error
}

func newEvalContext(state State, logger hclog.Logger, now time.Time, eval *structs.Evaluation, job *structs.Job) *evalContext {
	h := fnv.New64a()
	h.Write([]byte(eval.ID))
	c := &evalContext{
		state:            state,
		logger:           logger,
		now:              now,
		eval:             eval,
		job:              job,
		algo:             state.SchedulerConfig().EffectiveAlgorithm(),
		nodeCache:        map[string]*structs.Node{},
		stopped:          map[string]*structs.Allocation{},
		stoppedOn:        map[string][]*structs.Allocation{},
		updated:          map[string]*structs.Allocation{},
		tgOnNode:         map[nodeTG]int{},
		jobOnNode:        map[string]int{},
		props:            map[propKey]*propertySet{},
		classMemo:        map[string]string{},
		classEligibility: map[string]bool{},
		metrics:          &structs.AllocMetric{},
		rng:              rand.New(rand.NewSource(int64(h.Sum64()))),
	}
	c.idLead = byte(h.Sum64() >> 56)
	if cfg := state.SchedulerConfig(); cfg != nil {
		c.oversub = cfg.MemoryOversubscriptionEnabled
	}
	c.plan = &structs.Plan{EvalID: eval.ID, Priority: eval.Priority, SnapshotIndex: state.LatestIndex()}
	if job != nil {
		c.plan.Job = job
		c.plan.Priority = job.Priority
		c.plan.AllAtOnce = job.AllAtOnce
	}
	return c
}

// loadNodes fills the candidate set: ready nodes in the job's datacenters
// and node pool. It also counts nodes per datacenter for metrics.
func (c *evalContext) loadNodes() error {
	cat, err := c.catalog()
	if err != nil {
		return err
	}
	dcs := c.job.Datacenters
	if len(dcs) == 0 {
		dcs = []string{"*"}
	}
	pool := c.job.NodePool
	if pool == "" {
		pool = structs.DefaultNodePool
	}
	// Entries live in one slice so walking candidates stays cache friendly;
	// the slice, the pointers to it and the candidate numbers by catalogue
	// position are reused across evaluations (done), being 1.4 MB of
	// garbage an evaluation at 5,000 nodes otherwise.
	sc, _ := scratchPool.Get().(*nodeScratch)
	if sc == nil {
		sc = &nodeScratch{}
	}
	if cap(sc.entries) < len(cat.Nodes) {
		sc.entries = make([]nodeEntry, 0, len(cat.Nodes))
		sc.nodes = make([]*nodeEntry, 0, len(cat.Nodes))
	}
	if cap(sc.pos) < len(cat.Nodes) {
		sc.pos = make([]int32, len(cat.Nodes))
	}
	c.scratch = sc
	c.cat = cat
	c.pos = sc.pos[:len(cat.Nodes)]
	// Datacenters and pools are matched once each, not once per node.
	dcOK := make([]bool, len(cat.Datacenters))
	for i, dc := range cat.Datacenters {
		dcOK[i] = inDatacenters(dc, dcs)
	}
	poolOK := make([]bool, len(cat.Pools))
	for i, p := range cat.Pools {
		poolOK[i] = pool == "all" || p == pool
	}
	entries := sc.entries[:0]
	c.available = map[string]int{}
	for i := range cat.Nodes {
		n := &cat.Nodes[i]
		if !n.Ready || !poolOK[n.PoolID] || !dcOK[n.DC] {
			continue
		}
		c.available[cat.Datacenters[n.DC]]++
		entries = append(entries, nodeEntry{node: n.Node, avail: n.Avail})
		c.pos[i] = int32(len(entries))
	}
	sc.entries = entries
	c.nodes = sc.nodes[:len(entries)]
	for i := range entries {
		c.nodes[i] = &entries[i]
	}
	return nil
}

// entry returns the candidate with the node ID, or nil if the node is not
// one (or the candidates are not loaded).
func (c *evalContext) entry(id string) *nodeEntry {
	if c.cat == nil {
		return nil
	}
	p, ok := c.cat.Index[id]
	if !ok || c.pos[p] == 0 {
		return nil
	}
	return c.nodes[c.pos[p]-1]
}

// catalog returns the state's node catalogue, or makes one from its nodes.
func (c *evalContext) catalog() (*structs.NodeCatalog, error) {
	if cs, ok := c.state.(NodeCatalogState); ok {
		return cs.NodeCatalog()
	}
	all, err := c.state.Nodes()
	if err != nil {
		return nil, err
	}
	return structs.NewNodeCatalog(all), nil
}

// nodeScratch is loadNodes' candidate table, kept for the next evaluation.
type nodeScratch struct {
	entries []nodeEntry
	nodes   []*nodeEntry
	// pos numbers the candidates (from 1) by catalogue position, 0 for
	// the nodes that are not.
	pos []int32
	// used takes the usage of every catalogued node (loadAll).
	used []structs.ComparableResources
}

var scratchPool sync.Pool

// done hands the candidate table to later evaluations. The context must
// not be used afterwards.
func (c *evalContext) done() {
	sc := c.scratch
	if sc == nil {
		return
	}
	c.scratch, c.nodes, c.cat, c.pos = nil, nil, nil, nil
	clear(sc.entries)
	sc.entries = sc.entries[:0]
	clear(sc.nodes[:cap(sc.nodes)])
	clear(sc.pos)
	scratchPool.Put(sc)
}

func inDatacenters(dc string, patterns []string) bool {
	for _, p := range patterns {
		if glob.Glob(p, dc) {
			return true
		}
	}
	return false
}

// loadJobAllocs records the job's live allocs and counts them per node.
func (c *evalContext) loadJobAllocs(allocs []*structs.Allocation) {
	for _, a := range allocs {
		if a.TerminalStatus() {
			continue
		}
		c.jobAllocs = append(c.jobAllocs, a)
		c.tgOnNode[nodeTG{a.NodeID, a.TaskGroup}]++
		c.jobOnNode[a.NodeID]++
	}
}

// nodeByID returns a node from the candidate set or the snapshot.
func (c *evalContext) nodeByID(id string) *structs.Node {
	if e := c.entry(id); e != nil {
		return e.node
	}
	if n, ok := c.nodeCache[id]; ok {
		return n
	}
	n, err := c.state.NodeByID(id)
	if err != nil && c.err == nil {
		c.err = err
	}
	c.nodeCache[id] = n
	return n
}

// proposedOnNode calls fn for each live alloc on the node with the plan applied.
func (c *evalContext) proposedOnNode(e *nodeEntry, fn func(a *structs.Allocation)) {
	allocs, err := c.state.AllocsByNode(e.node.ID)
	if err != nil {
		if c.err == nil {
			c.err = err
		}
		return
	}
	for _, a := range allocs {
		if a.TerminalStatus() {
			continue
		}
		if _, ok := c.stopped[a.ID]; ok {
			continue
		}
		if _, ok := c.updated[a.ID]; ok {
			continue
		}
		fn(a)
	}
	for _, a := range c.plan.NodeAllocation[e.node.ID] {
		if !a.TerminalStatus() {
			fn(a)
		}
	}
}

// load fills the node's proposed usage on first use.
func (c *evalContext) load(e *nodeEntry) {
	if e.loaded {
		return
	}
	e.loaded = true
	if us, ok := c.state.(NodeUsageState); ok {
		used, err := us.NodeUsage(e.node.ID)
		if err != nil {
			if c.err == nil {
				c.err = err
			}
			return
		}
		c.setUsed(e, used)
		return
	}
	c.proposedOnNode(e, func(a *structs.Allocation) {
		e.used.Add(structs.AllocComparableResources(a))
	})
}

// setUsed fills a node's usage from the snapshot's, with the plan applied:
// stops leave, new placements join. An in-place update keeps the resources
// and the status of the alloc it replaces, so it is counted already.
func (c *evalContext) setUsed(e *nodeEntry, used structs.ComparableResources) {
	e.loaded = true
	e.used = used
	// Most evaluations load usage before they stop or place anything: no
	// lookups by ID then, each a cache miss when every node is loaded.
	if len(c.stoppedOn) == 0 && len(c.plan.NodeAllocation) == 0 {
		return
	}
	for _, a := range c.stoppedOn[e.node.ID] {
		e.used.Subtract(structs.AllocComparableResources(a))
	}
	for _, a := range c.plan.NodeAllocation[e.node.ID] {
		if _, inPlace := c.updated[a.ID]; inPlace || a.TerminalStatus() {
			continue
		}
		e.used.Add(structs.AllocComparableResources(a))
	}
}

// loadAll fills the usage of every candidate in one read of the state's
// usage by catalogue (FillUsage), when the evaluation is expected to visit
// most of them: placements look at about log2(n) nodes each, and a walk
// that goes on where the last one stopped soon covers them all.
func (c *evalContext) loadAll(placements int) {
	us, ok := c.state.(NodeUsageState)
	n := len(c.nodes)
	if !ok || n == 0 || placements*max(2, bits.Len(uint(n))) < n/4 {
		return
	}
	sc := c.scratch
	if cap(sc.used) < len(c.cat.Nodes) {
		sc.used = make([]structs.ComparableResources, len(c.cat.Nodes))
	}
	used := sc.used[:len(c.cat.Nodes)]
	if err := us.FillUsage(c.cat, used); err != nil {
		if c.err == nil {
			c.err = err
		}
		return
	}
	for p, k := range c.pos {
		if k == 0 {
			continue // not a candidate
		}
		if e := c.nodes[k-1]; !e.loaded {
			c.setUsed(e, used[p])
		}
	}
}

// dynRange returns the node's dynamic port range.
func dynRange(n *structs.Node) (int, int) {
	lo, hi := structs.DefaultMinDynamicPort, structs.DefaultMaxDynamicPort
	if r := n.NodeResources; r != nil && r.MinDynamicPort > 0 && r.MaxDynamicPort >= r.MinDynamicPort {
		lo, hi = r.MinDynamicPort, r.MaxDynamicPort
	}
	return lo, hi
}

// loadPorts fills the node's taken ports on first use.
func (c *evalContext) loadPorts(e *nodeEntry) {
	if e.portsLoaded {
		return
	}
	e.portsLoaded = true
	e.ports = map[int]struct{}{}
	reserved, err := structs.NodeReservedPorts(e.node)
	if err != nil && c.err == nil {
		c.err = err
	}
	for _, p := range reserved {
		c.takePort(e, p)
	}
	c.proposedOnNode(e, func(a *structs.Allocation) {
		for _, p := range structs.AllocHostPorts(a) {
			c.takePort(e, p)
		}
	})
}

func (c *evalContext) takePort(e *nodeEntry, p int) {
	if _, ok := e.ports[p]; ok {
		return
	}
	e.ports[p] = struct{}{}
	if lo, hi := dynRange(e.node); p >= lo && p <= hi {
		e.dynUsed++
	}
}

func (c *evalContext) freePort(e *nodeEntry, p int) {
	if _, ok := e.ports[p]; !ok {
		return
	}
	delete(e.ports, p)
	if lo, hi := dynRange(e.node); p >= lo && p <= hi {
		e.dynUsed--
	}
}

// loadCores fills the node's reserved cores on first use.
func (c *evalContext) loadCores(e *nodeEntry) {
	if e.coresLoaded {
		return
	}
	e.coresLoaded = true
	e.cores = map[uint16]struct{}{}
	c.proposedOnNode(e, func(a *structs.Allocation) {
		for _, id := range structs.AllocReservedCores(a) {
			e.cores[id] = struct{}{}
		}
	})
}

// freeCores returns up to n free reservable cores of the node, lowest first.
func (c *evalContext) freeCores(e *nodeEntry, n int) []uint16 {
	c.loadCores(e)
	var out []uint16
	for _, id := range reservableCores(e.node) {
		if len(out) == n {
			break
		}
		if _, taken := e.cores[id]; !taken {
			out = append(out, id)
		}
	}
	return out
}

// placeAlloc adds a new allocation to the plan and to proposed usage.
func (c *evalContext) placeAlloc(a *structs.Allocation) {
	c.plan.AppendAlloc(a)
	if e := c.entry(a.NodeID); e != nil {
		if e.loaded {
			e.used.Add(structs.AllocComparableResources(a))
		}
		if e.portsLoaded {
			for _, p := range structs.AllocHostPorts(a) {
				c.takePort(e, p)
			}
		}
		if e.coresLoaded {
			for _, id := range structs.AllocReservedCores(a) {
				e.cores[id] = struct{}{}
			}
		}
		if c.algo == SchedulerAlgorithmBinpack {
			c.touch(e)
		}
	}
	c.count(a, 1)
}

// updateAlloc adds an in-place change of an existing allocation to the plan.
// Usage and counts do not change.
func (c *evalContext) updateAlloc(a *structs.Allocation) {
	c.updated[a.ID] = a
	c.plan.AppendAlloc(a)
}

// stopAlloc adds a stop to the plan and frees the alloc's resources.
func (c *evalContext) stopAlloc(a *structs.Allocation, desc, clientStatus string) {
	c.plan.AppendStoppedAlloc(a, desc, clientStatus)
	c.release(a)
}

// evict preempts another job's alloc for the new alloc by, keeping the
// alloc's own job on the update so the applier does not replace it.
func (c *evalContext) evict(a *structs.Allocation, by string) {
	e := a.Copy()
	e.DesiredStatus = structs.AllocDesiredStatusEvict
	e.DesiredDescription = "Preempted by alloc ID " + by
	if c.plan.NodeUpdate == nil {
		c.plan.NodeUpdate = map[string][]*structs.Allocation{}
	}
	c.plan.NodeUpdate[a.NodeID] = append(c.plan.NodeUpdate[a.NodeID], e)
	c.preempted = append(c.preempted, a)
	c.release(a)
}

// release takes a stopped alloc out of proposed usage.
func (c *evalContext) release(a *structs.Allocation) {
	if _, again := c.stopped[a.ID]; again {
		return
	}
	c.stopped[a.ID] = a
	if a.TerminalStatus() {
		return
	}
	c.stoppedOn[a.NodeID] = append(c.stoppedOn[a.NodeID], a)
	if e := c.entry(a.NodeID); e != nil {
		if e.loaded {
			e.used.Subtract(structs.AllocComparableResources(a))
		}
		if e.portsLoaded {
			for _, p := range structs.AllocHostPorts(a) {
				c.freePort(e, p)
			}
		}
		if e.coresLoaded {
			for _, id := range structs.AllocReservedCores(a) {
				delete(e.cores, id)
			}
		}
		e.changes++
		if e.group == c.group {
			e.exhausted = ""
		}
	}
	c.count(a, -1)
}

// ownAlloc reports whether the alloc belongs to the job being scheduled.
func (c *evalContext) ownAlloc(a *structs.Allocation) bool {
	return c.job != nil && a.JobID == c.job.ID && a.Namespace == c.job.Namespace
}

func (c *evalContext) count(a *structs.Allocation, d int) {
	if !c.ownAlloc(a) {
		return
	}
	c.version++
	c.tgOnNode[nodeTG{a.NodeID, a.TaskGroup}] += d
	c.jobOnNode[a.NodeID] += d
	if e := c.entry(a.NodeID); e != nil {
		e.changes++
		e.tgCountOK = false
	}
	if len(c.props) == 0 {
		return
	}
	n := c.nodeByID(a.NodeID)
	for k, ps := range c.props {
		if k.tg != "" && k.tg != a.TaskGroup {
			continue
		}
		if v, ok := resolveTarget(k.target, n); ok {
			ps.counts[v] += d
		}
	}
}

// maxHot bounds the hot list; older entries rarely matter.
const maxHot = 64

// touch moves a node to the front of the hot list.
func (c *evalContext) touch(e *nodeEntry) {
	for i, h := range c.hot {
		if h == e {
			copy(c.hot[1:i+1], c.hot[:i])
			c.hot[0] = e
			return
		}
	}
	if len(c.hot) < maxHot {
		c.hot = append(c.hot, nil)
	}
	copy(c.hot[1:], c.hot[:len(c.hot)-1])
	c.hot[0] = e
}

// propKey names a tracked property: a target and, for group scope, a group.
type propKey struct {
	target, tg string
}

// propertySet counts the job's proposed allocs per value of a node property.
type propertySet struct {
	counts map[string]int
}

// property returns the counts for a target, building them on first use.
func (c *evalContext) property(target, tg string) *propertySet {
	k := propKey{target, tg}
	if ps, ok := c.props[k]; ok {
		return ps
	}
	ps := &propertySet{counts: map[string]int{}}
	add := func(a *structs.Allocation) {
		if tg != "" && a.TaskGroup != tg {
			return
		}
		if v, ok := resolveTarget(target, c.nodeByID(a.NodeID)); ok {
			ps.counts[v]++
		}
	}
	for _, a := range c.jobAllocs {
		if _, ok := c.stopped[a.ID]; ok {
			continue
		}
		if _, ok := c.updated[a.ID]; ok {
			continue
		}
		add(a)
	}
	for _, allocs := range c.plan.NodeAllocation {
		for _, a := range allocs {
			if !a.TerminalStatus() && a.Job == c.job {
				add(a)
			}
		}
	}
	c.props[k] = ps
	return ps
}

// newGroup resets per-group memos before a group's placements.
func (c *evalContext) newGroup() {
	c.group++
	clear(c.classMemo)
}

// memo returns the node's per-group memo, resetting it for a new group.
func (c *evalContext) memo(e *nodeEntry) *nodeEntry {
	if e.group != c.group {
		e.group = c.group
		e.feasible = 0
		e.filterBy = ""
		e.affDone, e.affinity = false, 0
		e.exhausted = ""
		e.fitOK = false
		e.tgCountOK = false
		e.spreadIDs = e.spreadIDs[:0]
	}
	return e
}

// filtered records a node rejected by a constraint.
func (c *evalContext) filtered(n *structs.Node, reason string) {
	m := c.metrics
	m.NodesFiltered++
	if m.ConstraintFiltered == nil {
		m.ConstraintFiltered = map[string]int{}
	}
	m.ConstraintFiltered[reason]++
	if n.NodeClass != "" {
		if m.ClassFiltered == nil {
			m.ClassFiltered = map[string]int{}
		}
		m.ClassFiltered[n.NodeClass]++
	}
}

// exhausted records a node without room for the ask.
func (c *evalContext) exhaust(n *structs.Node, dim string) {
	m := c.metrics
	m.NodesExhausted++
	if m.DimensionExhausted == nil {
		m.DimensionExhausted = map[string]int{}
	}
	m.DimensionExhausted[dim]++
	if n.NodeClass != "" {
		if m.ClassExhausted == nil {
			m.ClassExhausted = map[string]int{}
		}
		m.ClassExhausted[n.NodeClass]++
	}
}
