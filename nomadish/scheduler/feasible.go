package scheduler

import (
	"github.com/nomadish/nomadish/nomadish/structs"
)

// feasibleIterator yields candidate nodes that passed every check so far.
type feasibleIterator interface {
	// Next returns the next candidate, or nil when there are no more.
	Next() *nodeEntry
	// Reset starts a new select.
	Reset()
}

// sourceIterator yields candidates: under bin-packing the nodes this plan
// last placed on first (so they fill up), then the shuffled node list,
// continuing where the previous select stopped so successive placements
// look at different nodes. Each node is yielded at most once per select.
type sourceIterator struct {
	ctx *evalContext
	// base is the shuffled order; nodes the order for the current group.
	base   []*nodeEntry
	nodes  []*nodeEntry
	hot    bool
	hotPos int
	// only, when set, is the single candidate of the next selects.
	only   *nodeEntry
	offset int
	left   int
	stamp  uint32
	// skipFull passes over nodes the group's ask is known not to fit: usage
	// only grows while a group places, so a node found full stays full,
	// and near a full cluster most of a walk would be such nodes. skipped
	// counts them for the current select. The single-node walks of system
	// jobs and the preemption search see every node.
	skipFull bool
	skipped  int
}

func newSourceIterator(ctx *evalContext, nodes []*nodeEntry, shuffle bool) *sourceIterator {
	s := &sourceIterator{ctx: ctx, nodes: nodes, hot: ctx.algo == SchedulerAlgorithmBinpack, skipFull: shuffle}
	if shuffle {
		s.nodes = append([]*nodeEntry(nil), nodes...)
		ctx.rng.Shuffle(len(s.nodes), func(i, j int) { s.nodes[i], s.nodes[j] = s.nodes[j], s.nodes[i] })
	}
	s.base = s.nodes
	s.Reset()
	return s
}

// interleave reorders the walk for a group so that every bucket (spread
// value) shows up early: the first k*buckets nodes hold about k per bucket.
// It returns the number of buckets.
func (s *sourceIterator) interleave(bucket func(e *nodeEntry) string) int {
	index := map[string]int{}
	var lists [][]*nodeEntry
	for _, e := range s.base {
		k := bucket(e)
		i, ok := index[k]
		if !ok {
			i = len(lists)
			index[k] = i
			lists = append(lists, nil)
		}
		lists[i] = append(lists[i], e)
	}
	order := make([]*nodeEntry, 0, len(s.base))
	for round := 0; len(order) < len(s.base); round++ {
		for _, l := range lists {
			if round < len(l) {
				order = append(order, l[round])
			}
		}
	}
	s.nodes, s.offset = order, 0
	s.Reset()
	return len(lists)
}

// restore goes back to the shuffled walk.
func (s *sourceIterator) restore() {
	if len(s.nodes) > 0 && len(s.base) > 0 && &s.nodes[0] == &s.base[0] {
		return
	}
	s.nodes, s.offset = s.base, 0
	s.Reset()
}

// setNodes replaces the candidates, for system jobs that look at one node.
func (s *sourceIterator) setNodes(nodes []*nodeEntry) {
	s.base, s.nodes, s.offset, s.hot, s.skipFull = nodes, nodes, 0, false, false
	s.Reset()
}

func (s *sourceIterator) Next() *nodeEntry {
	if s.only != nil {
		if s.only.seen == s.stamp {
			return nil
		}
		s.only.seen = s.stamp
		return s.only
	}
	if s.hot {
		for s.hotPos < len(s.ctx.hot) {
			e := s.ctx.hot[s.hotPos]
			s.hotPos++
			if e.seen != s.stamp {
				e.seen = s.stamp
				if s.knownFull(e) {
					continue
				}
				return e
			}
		}
	}
	for s.left > 0 {
		e := s.nodes[s.offset]
		s.left--
		s.offset++
		if s.offset == len(s.nodes) {
			s.offset = 0
		}
		if e.seen != s.stamp {
			e.seen = s.stamp
			if s.knownFull(e) {
				continue
			}
			return e
		}
	}
	return nil
}

// seeEvery turns skipping of full nodes off until the returned func puts
// it back: for searches where full nodes matter.
func (s *sourceIterator) seeEvery() (restore func()) {
	skip := s.skipFull
	s.skipFull = false
	return func() { s.skipFull = skip }
}

// knownFull reports, and counts, a node skipped because an earlier select
// of the group found the ask does not fit it.
func (s *sourceIterator) knownFull(e *nodeEntry) bool {
	if s.skipFull && e.group == s.ctx.group && e.exhausted != "" {
		s.skipped++
		return true
	}
	return false
}

func (s *sourceIterator) Reset() {
	s.ctx.stamp++
	s.stamp = s.ctx.stamp
	s.hotPos = 0
	s.skipped = 0
	s.left = len(s.nodes)
	if s.offset >= len(s.nodes) {
		s.offset = 0
	}
}

// staticFeasibility checks what depends only on the node and the group:
// drivers and ordinary constraints. Results are kept per node for the group
// and per computed class when no check reads unique node values.
type staticFeasibility struct {
	ctx *evalContext
	src feasibleIterator
	ask *groupAsk
}

func (s *staticFeasibility) Next() *nodeEntry {
	for {
		e := s.src.Next()
		if e == nil {
			return nil
		}
		s.ctx.metrics.NodesEvaluated++
		m := s.ctx.memo(e)
		if m.feasible == 0 {
			ok, reason := s.check(e.node)
			m.feasible, m.filterBy = 1, ""
			if !ok {
				m.feasible, m.filterBy = -1, reason
			}
		}
		if m.feasible < 0 {
			s.ctx.filtered(e.node, m.filterBy)
			continue
		}
		return e
	}
}

func (s *staticFeasibility) check(n *structs.Node) (bool, string) {
	class := n.ComputedClass
	cacheable := class != "" && !s.ask.escaped
	if cacheable {
		if reason, ok := s.ctx.classMemo[class]; ok {
			return reason == "", reason
		}
	}
	ok, reason := s.checkNode(n)
	if cacheable {
		s.ctx.classMemo[class] = reason
	}
	if class != "" {
		s.ctx.classEligibility[class] = s.ctx.classEligibility[class] || ok
	}
	return ok, reason
}

func (s *staticFeasibility) checkNode(n *structs.Node) (bool, string) {
	for _, d := range s.ask.drivers {
		if !driverHealthy(n, d) {
			return false, "missing drivers"
		}
	}
	for _, c := range s.ask.constraints {
		if !s.ctx.cache.meetsConstraint(c, n) {
			return false, constraintString(c)
		}
	}
	return true, ""
}

func (s *staticFeasibility) Reset() { s.src.Reset() }

// distinctFeasibility enforces distinct_hosts and distinct_property, which
// depend on where the plan has put the job so far.
type distinctFeasibility struct {
	ctx *evalContext
	src feasibleIterator
	ask *groupAsk
}

func (d *distinctFeasibility) Next() *nodeEntry {
	for {
		e := d.src.Next()
		if e == nil {
			return nil
		}
		if reason := d.reject(e.node); reason != "" {
			d.ctx.filtered(e.node, reason)
			continue
		}
		return e
	}
}

func (d *distinctFeasibility) reject(n *structs.Node) string {
	a := d.ask
	if a.distinctHostsJob && d.ctx.jobOnNode[n.ID] > 0 {
		return ConstraintDistinctHosts
	}
	if a.distinctHostsTG && d.ctx.tgOnNode[nodeTG{n.ID, a.tg.Name}] > 0 {
		return ConstraintDistinctHosts
	}
	for _, p := range a.distinctProps {
		v, ok := resolveTarget(p.target, n)
		if !ok {
			return "missing property " + p.target
		}
		if d.ctx.property(p.target, p.tg).counts[v] >= p.limit {
			return p.desc
		}
	}
	return ""
}

func (d *distinctFeasibility) Reset() { d.src.Reset() }
