package structs

// Plan is a scheduler's proposed change, checked and applied by the leader.
type Plan struct {
	// EvalID is the evaluation that produced the plan.
	EvalID string
	// Priority of the job.
	Priority int
	// Job the plan is for (nil for node-only plans).
	Job *Job
	// AllAtOnce makes the plan all-or-nothing.
	AllAtOnce bool
	// NodeUpdate lists allocations to stop, by node.
	NodeUpdate map[string][]*Allocation
	// NodeAllocation lists allocations to place or update, by node.
	NodeAllocation map[string][]*Allocation
	// SnapshotIndex is the state index the scheduler planned against.
	SnapshotIndex uint64
}

// AppendAlloc adds a placement.
func (p *Plan) AppendAlloc(a *Allocation) {
	if p.NodeAllocation == nil {
		p.NodeAllocation = map[string][]*Allocation{}
	}
	p.NodeAllocation[a.NodeID] = append(p.NodeAllocation[a.NodeID], a)
}

// AppendStoppedAlloc marks an existing allocation to stop.
func (p *Plan) AppendStoppedAlloc(a *Allocation, desc, clientStatus string) {
	c := a.Copy()
	c.Job = nil
	c.DesiredStatus = AllocDesiredStatusStop
	c.DesiredDescription = desc
	if clientStatus != "" {
		c.ClientStatus = clientStatus
	}
	if p.NodeUpdate == nil {
		p.NodeUpdate = map[string][]*Allocation{}
	}
	p.NodeUpdate[a.NodeID] = append(p.NodeUpdate[a.NodeID], c)
}

// IsNoOp reports whether the plan changes nothing.
func (p *Plan) IsNoOp() bool {
	return len(p.NodeUpdate) == 0 && len(p.NodeAllocation) == 0
}

// PlanResult is what the leader committed of a plan.
type PlanResult struct {
	NodeUpdate     map[string][]*Allocation
	NodeAllocation map[string][]*Allocation
	// RefreshIndex is non-zero when part of the plan was rejected; the
	// scheduler must refresh its state to at least this index and retry.
	RefreshIndex uint64
	// AllocIndex is the Raft index the plan was committed at.
	AllocIndex uint64
}

// FullCommit reports whether every node of the plan was committed, and the
// expected and actual node counts.
func (r *PlanResult) FullCommit(p *Plan) (bool, int, int) {
	expected, actual := 0, 0
	for node, allocs := range p.NodeAllocation {
		expected++
		if got, ok := r.NodeAllocation[node]; ok && len(got) == len(allocs) {
			actual++
		}
	}
	for node := range p.NodeUpdate {
		if _, ok := p.NodeAllocation[node]; ok {
			continue
		}
		expected++
		if _, ok := r.NodeUpdate[node]; ok {
			actual++
		}
	}
	return expected == actual, expected, actual
}
