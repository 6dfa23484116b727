package scheduler

import (
	"math"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// rankedNode is a feasible node with its score terms.
type rankedNode struct {
	e        *nodeEntry
	fit      float64
	anti     float64
	affinity float64
	spread   float64
	final    float64
}

// rankIterator yields scored candidates.
type rankIterator interface {
	Next() *rankedNode
	Reset()
}

// rankSlab hands out rankedNodes without a heap allocation per candidate;
// everything it gave out is reused at the next select.
type rankSlab struct {
	chunks [][]rankedNode
	ci, i  int
}

const rankChunk = 256

func (s *rankSlab) get(e *nodeEntry) *rankedNode {
	if s.ci == len(s.chunks) {
		s.chunks = append(s.chunks, make([]rankedNode, rankChunk))
	}
	r := &s.chunks[s.ci][s.i]
	if s.i++; s.i == rankChunk {
		s.ci, s.i = s.ci+1, 0
	}
	*r = rankedNode{e: e}
	return r
}

func (s *rankSlab) reset() { s.ci, s.i = 0, 0 }

// binPackIterator drops nodes without room for the ask (CPU, memory, disk,
// ports) and scores the fit of the rest.
type binPackIterator struct {
	ctx *evalContext
	src feasibleIterator
	ask *groupAsk
}

func (b *binPackIterator) Next() *rankedNode {
	for {
		e := b.src.Next()
		if e == nil {
			return nil
		}
		m := b.ctx.memo(e)
		if m.exhausted == "" {
			m.exhausted = b.fits(e)
		}
		if m.exhausted != "" {
			b.ctx.exhaust(e.node, m.exhausted)
			continue
		}
		if !m.fitOK || m.fitAt != e.changes {
			need, ask := e.used, b.ask.need(e)
			need.Add(&ask)
			m.fit, m.fitAt, m.fitOK = fitScore(b.ctx.algo, &e.avail, &need), e.changes, true
		}
		r := b.ctx.ranks.get(e)
		r.fit = m.fit
		return r
	}
}

// fits returns the dimension the ask does not fit in, or "".
func (b *binPackIterator) fits(e *nodeEntry) string {
	b.ctx.load(e)
	need, ask := e.used, b.ask.need(e)
	need.Add(&ask)
	if ok, dim := e.avail.Superset(&need); !ok {
		return dim
	}
	if b.ask.cores > 0 {
		if mhzPerCore(e.node) == 0 || len(b.ctx.freeCores(e, b.ask.cores)) < b.ask.cores {
			return structs.DimensionCores
		}
	}
	if len(b.ask.static) == 0 && b.ask.dynamic == 0 {
		return ""
	}
	b.ctx.loadPorts(e)
	for _, p := range b.ask.static {
		if _, taken := e.ports[p]; taken {
			return structs.DimensionPortCollides
		}
	}
	lo, hi := dynRange(e.node)
	free := hi - lo + 1 - e.dynUsed
	for _, p := range b.ask.static {
		if p >= lo && p <= hi {
			free--
		}
	}
	if free < b.ask.dynamic {
		return structs.DimensionDynamicPorts
	}
	return ""
}

func (b *binPackIterator) Reset() { b.src.Reset() }

// fitScore scores how well used fits in avail: bin-pack favours fuller
// nodes, spread emptier ones. See the package doc for the formula.
func fitScore(algo string, avail, used *structs.ComparableResources) float64 {
	if avail.CpuShares <= 0 || avail.MemoryMB <= 0 {
		return 0
	}
	fc := 1 - float64(used.CpuShares)/float64(avail.CpuShares)
	fm := 1 - float64(used.MemoryMB)/float64(avail.MemoryMB)
	total := math.Exp(fc*math.Ln10) + math.Exp(fm*math.Ln10)
	s := 20 - total
	if algo == SchedulerAlgorithmSpread {
		s = total - 2
	}
	return math.Max(0, math.Min(18, s)) / 18
}

// antiAffinityIterator penalises nodes already running the group, and the
// node a rescheduled alloc failed on.
type antiAffinityIterator struct {
	ctx     *evalContext
	src     rankIterator
	ask     *groupAsk
	penalty map[string]bool
}

func (a *antiAffinityIterator) Next() *rankedNode {
	r := a.src.Next()
	if r == nil {
		return nil
	}
	if n := a.ask.tg.Count; n > 1 {
		e := r.e
		if !e.tgCountOK {
			e.tgCount, e.tgCountOK = a.ctx.tgOnNode[nodeTG{e.node.ID, a.ask.tg.Name}], true
		}
		if e.tgCount > 0 {
			r.anti = -float64(e.tgCount) / float64(n)
		}
	}
	if len(a.penalty) > 0 && a.penalty[r.e.node.ID] {
		r.anti--
	}
	r.anti = math.Max(-1, r.anti)
	return r
}

func (a *antiAffinityIterator) Reset() { a.src.Reset() }

// affinityIterator scores matching affinities: the sum of matched weights
// over the sum of absolute weights, in [-1, 1].
type affinityIterator struct {
	ctx *evalContext
	src rankIterator
	ask *groupAsk
}

func (a *affinityIterator) Next() *rankedNode {
	r := a.src.Next()
	if r == nil || len(a.ask.affinities) == 0 {
		return r
	}
	m := a.ctx.memo(r.e)
	if !m.affDone {
		m.affDone, m.affinity = true, a.score(r.e.node)
	}
	r.affinity = m.affinity
	return r
}

func (a *affinityIterator) score(n *structs.Node) float64 {
	var sum, total float64
	for _, af := range a.ask.affinities {
		w := float64(af.Weight)
		total += math.Abs(w)
		c := structs.Constraint{LTarget: af.LTarget, RTarget: af.RTarget, Operand: af.Operand}
		if a.ctx.cache.meetsConstraint(&c, n) {
			sum += w
		}
	}
	if total == 0 {
		return 0
	}
	return sum / total
}

func (a *affinityIterator) Reset() { a.src.Reset() }

// spreadTargets is one spread block resolved for a group: the desired
// number of allocs per attribute value.
type spreadTargets struct {
	attr    string
	weight  float64
	desired map[string]float64
	// rest is the desired count shared by values not listed.
	rest float64
	ps   *propertySet
	// values are the attribute values seen on candidates, by id, and
	// scores their current score.
	values []string
	scores []float64
}

// spreadIterator boosts nodes whose attribute value has fewer allocs than
// its desired share: (desired - used) / desired per block, clamped to
// [-1, 1], weighted across blocks. Values with no share and nodes missing
// the attribute score -1. Scores are kept per value and refreshed when the
// plan changes, so a candidate costs a slice lookup per block.
type spreadIterator struct {
	ctx    *evalContext
	src    rankIterator
	blocks []*spreadTargets
	total  float64
	at     uint32
	fresh  bool
}

// setGroup resolves the group's spread blocks against the candidate nodes.
func (s *spreadIterator) setGroup(ask *groupAsk) {
	s.blocks, s.total, s.fresh = nil, 0, false
	if len(ask.spreads) == 0 {
		return
	}
	count := float64(ask.tg.Count)
	for _, sp := range ask.spreads {
		b := &spreadTargets{attr: sp.Attribute, weight: float64(sp.Weight), desired: map[string]float64{}}
		if b.weight <= 0 {
			b.weight = 50
		}
		b.ps = s.ctx.property(sp.Attribute, ask.tg.Name)
		s.blocks = append(s.blocks, b)
		s.total += b.weight
	}
	for _, e := range s.ctx.nodes {
		m := s.ctx.memo(e)
		for _, b := range s.blocks {
			id := int32(-1)
			if v, ok := resolveTarget(b.attr, e.node); ok {
				id = int32(slicesIndex(b.values, v))
				if id < 0 {
					id = int32(len(b.values))
					b.values = append(b.values, v)
				}
			}
			m.spreadIDs = append(m.spreadIDs, id)
		}
	}
	for i, sp := range ask.spreads {
		b := s.blocks[i]
		if len(sp.SpreadTarget) == 0 {
			for _, v := range b.values {
				b.desired[v] = count / float64(len(b.values))
			}
			continue
		}
		left := 100.0
		for _, t := range sp.SpreadTarget {
			if t == nil {
				continue
			}
			b.desired[t.Value] = float64(t.Percent) / 100 * count
			left -= float64(t.Percent)
		}
		b.rest = math.Max(0, left) / 100 * count
	}
}

// slicesIndex finds v in a short list; spread attributes have few values.
func slicesIndex(list []string, v string) int {
	for i, s := range list {
		if s == v {
			return i
		}
	}
	return -1
}

func (s *spreadIterator) Next() *rankedNode {
	r := s.src.Next()
	if r == nil || len(s.blocks) == 0 {
		return r
	}
	if !s.fresh || s.at != s.ctx.version {
		for _, b := range s.blocks {
			b.refresh()
		}
		s.at, s.fresh = s.ctx.version, true
	}
	ids := r.e.spreadIDs
	var sum float64
	for i, b := range s.blocks {
		sc := -1.0
		if i < len(ids) && ids[i] >= 0 {
			sc = b.scores[ids[i]]
		}
		sum += b.weight * sc
	}
	r.spread = sum / s.total
	return r
}

// refresh recomputes every value's score from the current counts.
func (b *spreadTargets) refresh() {
	restUsed := 0.0
	for val, c := range b.ps.counts {
		if _, listed := b.desired[val]; !listed {
			restUsed += float64(c)
		}
	}
	b.scores = b.scores[:0]
	for _, v := range b.values {
		desired, listed := b.desired[v]
		used := float64(b.ps.counts[v])
		if !listed {
			desired, used = b.rest, restUsed
		}
		sc := -1.0
		if desired > 0 {
			sc = math.Max(-1, math.Min(1, (desired-used)/desired))
		}
		b.scores = append(b.scores, sc)
	}
}

func (s *spreadIterator) Reset() { s.src.Reset() }

// scoreIterator combines the terms: their sum over the number of term kinds
// the group configures (see the package doc).
type scoreIterator struct {
	src   rankIterator
	terms float64
}

func (s *scoreIterator) Next() *rankedNode {
	r := s.src.Next()
	if r != nil {
		r.final = (r.fit + r.anti + r.affinity + r.spread) / s.terms
	}
	return r
}

func (s *scoreIterator) Reset() { s.src.Reset() }

// limitIterator stops after limit candidates, passing over up to maxSkip
// candidates with a negative score while better ones may follow.
type limitIterator struct {
	src     rankIterator
	limit   int
	maxSkip int
	seen    int
	skipped []*rankedNode
}

func (l *limitIterator) Next() *rankedNode {
	if l.seen >= l.limit {
		return nil
	}
	for {
		r := l.src.Next()
		if r == nil {
			if len(l.skipped) == 0 {
				return nil
			}
			r, l.skipped = l.skipped[0], l.skipped[1:]
			l.seen++
			return r
		}
		if r.final < 0 && len(l.skipped) < l.maxSkip {
			l.skipped = append(l.skipped, r)
			continue
		}
		l.seen++
		return r
	}
}

func (l *limitIterator) Reset() {
	l.seen = 0
	l.skipped = l.skipped[:0]
	l.src.Reset()
}

// maxScoreIterator drains its source and yields the best candidate once.
type maxScoreIterator struct {
	src  rankIterator
	done bool
}

func (m *maxScoreIterator) Next() *rankedNode {
	if m.done {
		return nil
	}
	m.done = true
	var best *rankedNode
	for r := m.src.Next(); r != nil; r = m.src.Next() {
		if best == nil || r.final > best.final {
			best = r
		}
	}
	return best
}

func (m *maxScoreIterator) Reset() {
	m.done = false
	m.src.Reset()
}
