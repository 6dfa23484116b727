package scheduler

import (
	"encoding/binary"
	"math"
)

// stack is the placement chain for one evaluation.
type stack struct {
	ctx      *evalContext
	source   *sourceIterator
	static   *staticFeasibility
	distinct *distinctFeasibility
	binpack  *binPackIterator
	anti     *antiAffinityIterator
	affinity *affinityIterator
	spread   *spreadIterator
	score    *scoreIterator
	limit    *limitIterator
	max      *maxScoreIterator
	ask      *groupAsk
}

// newStack wires the chain. shuffle spreads load across nodes between
// evaluations; system jobs pass false and select node by node.
func newStack(ctx *evalContext, shuffle bool) *stack {
	s := &stack{ctx: ctx}
	// Candidates: hot nodes first under bin-packing, then a shuffled walk.
	s.source = newSourceIterator(ctx, ctx.nodes, shuffle)
	// Drivers and constraints: cheap, cached per node and computed class.
	s.static = &staticFeasibility{ctx: ctx, src: s.source}
	// distinct_hosts / distinct_property: depend on the plan, never cached.
	s.distinct = &distinctFeasibility{ctx: ctx, src: s.static}
	// Resources and ports: drops full nodes, scores the fit.
	s.binpack = &binPackIterator{ctx: ctx, src: s.distinct}
	// Same-group collisions and failed-on nodes: pushes replicas apart.
	s.anti = &antiAffinityIterator{ctx: ctx, src: s.binpack}
	// User affinities: soft preferences.
	s.affinity = &affinityIterator{ctx: ctx, src: s.anti}
	// Spread blocks: even or targeted shares of an attribute.
	s.spread = &spreadIterator{ctx: ctx, src: s.affinity}
	// One score per node from the terms above.
	s.score = &scoreIterator{src: s.spread}
	// Look at a few nodes: log2(n), or a few per preference combination.
	s.limit = &limitIterator{src: s.score, maxSkip: 3}
	// Take the best of what the limit let through.
	s.max = &maxScoreIterator{src: s.limit}
	return s
}

// setGroup prepares the chain for a group's placements.
func (s *stack) setGroup(ask *groupAsk) {
	s.ctx.newGroup()
	s.ask = ask
	s.static.ask, s.distinct.ask, s.binpack.ask, s.anti.ask, s.affinity.ask = ask, ask, ask, ask, ask
	s.spread.setGroup(ask)
	s.score.terms = ask.terms()
	s.ctx.escaped = s.ctx.escaped || ask.escaped || ask.distinct
	n := len(s.source.base)
	logLimit := max(2, int(math.Ceil(math.Log2(float64(n)))))
	if len(ask.affinities) == 0 && len(ask.spreads) == 0 {
		s.source.restore()
		s.limit.limit = logLimit
		return
	}
	// Affinity and spread scores depend only on a node's attribute values,
	// so a walk that visits every combination early needs only a few nodes
	// per combination to find the best one.
	if len(ask.affinities) > 0 {
		for _, e := range s.ctx.nodes {
			m := s.ctx.memo(e)
			m.affDone, m.affinity = true, s.affinity.score(e.node)
		}
	}
	buckets := s.source.interleave(preferenceBucket)
	s.limit.limit = n
	if per := candidatesPerBucket * buckets; per < n {
		s.limit.limit = max(logLimit, per)
	}
}

// candidatesPerBucket is how many nodes per combination of affinity score
// and spread values a placement compares.
const candidatesPerBucket = 4

// preferenceBucket keys a node by its affinity score and spread value ids.
func preferenceBucket(e *nodeEntry) string {
	b := make([]byte, 0, 8+4*len(e.spreadIDs))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.affinity))
	for _, id := range e.spreadIDs {
		b = binary.LittleEndian.AppendUint32(b, uint32(id))
	}
	return string(b)
}

// selectNode picks the best node for one placement of the current group;
// penalty names nodes to avoid (where a rescheduled alloc failed).
func (s *stack) selectNode(penalty map[string]bool) *rankedNode {
	before := *s.ctx.metrics
	if r := s.selectOnce(penalty); r != nil || s.source.skipped == 0 {
		return r
	}
	// Nothing fits: walk again over every node, skipping none, so the
	// metrics that explain the failure count the full nodes too.
	*s.ctx.metrics = before
	defer s.source.seeEvery()()
	return s.selectOnce(penalty)
}

func (s *stack) selectOnce(penalty map[string]bool) *rankedNode {
	s.ctx.ranks.reset()
	s.anti.penalty = penalty
	s.max.Reset()
	return s.max.Next()
}

// selectOn tries one node only, for allocs that prefer to stay put.
func (s *stack) selectOn(e *nodeEntry, penalty map[string]bool) *rankedNode {
	s.source.only = e
	defer func() { s.source.only = nil }()
	return s.selectNode(penalty)
}
