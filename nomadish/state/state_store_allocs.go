package state

import (
	"fmt"
	"maps"
	"math/bits"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// UpsertPlanResults commits a plan: new placements, stops of existing
// allocations, and the evaluations created with the plan. The store keeps
// copies of the request's allocations.
func (s *StateStore) UpsertPlanResults(index uint64, req *structs.ApplyPlanResultsRequest) error {
	_, err := s.applyPlanResults(index, req, false)
	return err
}

// ApplyPlanResults is UpsertPlanResults for a request the store may keep:
// its allocations become the stored ones, so the caller must not change
// them afterwards (the FSM decodes each request for this call alone). It
// returns the allocations as stored: the stops, then the placements.
func (s *StateStore) ApplyPlanResults(index uint64, req *structs.ApplyPlanResultsRequest) ([]*structs.Allocation, error) {
	return s.applyPlanResults(index, req, true)
}

// applyPlanResults commits a plan and returns the allocations as stored;
// owned says the request's allocations may be kept as they are.
func (s *StateStore) applyPlanResults(index uint64, req *structs.ApplyPlanResultsRequest, owned bool) ([]*structs.Allocation, error) {
	txn := s.db.Txn(true)
	defer txn.Abort()
	jobs := map[structs.NamespacedID]struct{}{}
	batch := newWriteBatch()
	stored := make([]*structs.Allocation, 0, len(req.AllocsStopped)+len(req.Allocs))
	for _, a := range req.AllocsStopped {
		w, err := upsertAllocTxn(txn, batch, index, a, owned)
		if err != nil {
			return nil, err
		}
		stored = append(stored, w)
		jobs[structs.NamespacedID{ID: a.JobID, Namespace: a.Namespace}] = struct{}{}
	}
	var available map[string]int
	var prev *structs.Allocation
	for _, a := range req.Allocs {
		if a.Job == nil {
			a.Job = req.Job
		}
		// The sharing below changes the metrics: the store's own copy.
		a.Metrics = copyMetrics(a.Metrics)
		available = shareNodesAvailable(a, available)
		if owned {
			// The tables keep the maps: only the store's own may go in.
			s.scores.share(a)
			s.counts.share(a)
		}
		shareStrings(a, prev)
		shareResources(a, prev)
		prev = a
		w, err := upsertAllocTxn(txn, batch, index, a, owned)
		if err != nil {
			return nil, err
		}
		stored = append(stored, w)
		jobs[structs.NamespacedID{ID: a.JobID, Namespace: a.Namespace}] = struct{}{}
	}
	if err := batch.flush(txn); err != nil {
		return nil, err
	}
	if len(req.Allocs)+len(req.AllocsStopped) > 0 {
		if err := setIndex(txn, tableAllocs, index); err != nil {
			return nil, err
		}
	}
	if err := upsertEvalsTxn(txn, index, req.Evals, jobs); err != nil {
		return nil, err
	}
	if err := refreshJobStatus(txn, index, jobs); err != nil {
		return nil, err
	}
	txn.Commit()
	return stored, nil
}

// metricsRecord is a placement's metrics with room for the one score
// record a placement keeps, so that the store holds them as one object
// instead of three: the collector's marking grows with the objects held.
type metricsRecord struct {
	m     structs.AllocMetric
	meta  structs.NodeScoreMeta
	metas [1]*structs.NodeScoreMeta
}

// copyMetrics copies a placement's metrics and score records (the maps
// are shared: stored maps are never changed in place).
func copyMetrics(m *structs.AllocMetric) *structs.AllocMetric {
	if m == nil {
		return nil
	}
	if len(m.ScoreMetaData) == 1 && m.ScoreMetaData[0] != nil {
		r := &metricsRecord{m: *m, meta: *m.ScoreMetaData[0]}
		r.metas[0] = &r.meta
		r.m.ScoreMetaData = r.metas[:]
		return &r.m
	}
	c := *m
	if m.ScoreMetaData != nil {
		c.ScoreMetaData = make([]*structs.NodeScoreMeta, len(m.ScoreMetaData))
		for i, sm := range m.ScoreMetaData {
			if sm != nil {
				cm := *sm
				c.ScoreMetaData[i] = &cm
			}
		}
	}
	return &c
}

// internTable holds one value per key, for sharing equal values between
// stored allocations (never changed in place, so sharing is safe). It is
// bounded: when full it starts over, which costs sharing, never
// correctness. Only the store's writer uses one.
type internTable[K comparable, V any] map[K]V

// hold returns the value held for k, holding v for it if there is none.
func (t internTable[K, V]) hold(k K, v V, max int) V {
	if held, ok := t[k]; ok {
		return held
	}
	if len(t) >= max {
		clear(t)
	}
	t[k] = v
	return v
}

// countMaps holds one copy of each small count map stored in placement
// metrics (nodes exhausted per dimension and per class), so that equal
// ones are shared: placements in a filling cluster pass over a few full
// nodes and record one or two counts, the same ones again and again.
type countMaps internTable[countKey, map[string]int]

// countKey is a count map of at most two entries, in key order.
type countKey struct {
	n uint8
	k [2]string
	v [2]int
}

// maxCountMaps bounds the table.
const maxCountMaps = 1 << 14

// share points the allocation's exhausted counts at equal maps held.
func (t countMaps) share(a *structs.Allocation) {
	if t == nil || a.Metrics == nil {
		return
	}
	m := a.Metrics
	m.DimensionExhausted = t.held(m.DimensionExhausted)
	m.ClassExhausted = t.held(m.ClassExhausted)
}

func (t countMaps) held(m map[string]int) map[string]int {
	if len(m) == 0 || len(m) > 2 {
		return m
	}
	var k countKey
	for name, v := range m {
		k.k[k.n], k.v[k.n] = name, v
		k.n++
	}
	if k.n == 2 && k.k[1] < k.k[0] {
		k.k[0], k.k[1] = k.k[1], k.k[0]
		k.v[0], k.v[1] = k.v[1], k.v[0]
	}
	return internTable[countKey, map[string]int](t).hold(k, m, maxCountMaps)
}

// shareNodesAvailable points the allocation's count of available nodes per
// datacenter at prev when the two are equal, and returns the map the next
// allocation may share. The placements of one evaluation carry the same
// counts, each decoded into a map of its own; held for every allocation,
// the copies would be a tenth of the store.
func shareNodesAvailable(a *structs.Allocation, prev map[string]int) map[string]int {
	m := a.Metrics
	if m == nil || m.NodesAvailable == nil {
		return prev
	}
	if prev != nil && maps.Equal(prev, m.NodesAvailable) {
		m.NodesAvailable = prev
		return prev
	}
	return m.NodesAvailable
}

// scoreMaps holds one copy of each set of placement scores stored, so
// that allocations placed with equal scores share a map: with similar
// nodes and tasks, a node's scores repeat at each fill level, and a map
// per allocation would be two of the few objects each holds for good.
type scoreMaps internTable[scoreKey, map[string]float64]

// scoreKey is a score map's content: which of the known scores it holds,
// and their values.
type scoreKey struct {
	has  uint8
	vals [len(knownScores)]float64
}

var knownScores = [...]string{structs.ScoreBinpack, structs.ScoreJobAntiAffinity, structs.ScoreNodeAffinity, structs.ScoreAllocationSpread}

// maxScoreMaps bounds the table.
const maxScoreMaps = 1 << 16

// share points the allocation's score maps at equal ones already held.
func (t scoreMaps) share(a *structs.Allocation) {
	if t == nil || a.Metrics == nil {
		return
	}
	for _, sm := range a.Metrics.ScoreMetaData {
		if sm == nil || len(sm.Scores) == 0 {
			continue
		}
		k, ok := scoreKeyOf(sm.Scores)
		if !ok {
			continue
		}
		sm.Scores = internTable[scoreKey, map[string]float64](t).hold(k, sm.Scores, maxScoreMaps)
	}
}

// scoreKeyOf returns the key of a map holding known scores only.
func scoreKeyOf(m map[string]float64) (scoreKey, bool) {
	var k scoreKey
	for i, name := range knownScores {
		if v, ok := m[name]; ok {
			k.has |= 1 << i
			k.vals[i] = v
		}
	}
	return k, bits.OnesCount8(k.has) == len(m)
}

// shareStrings points the allocation's strings that repeat across a plan
// at equal strings already held: the job's, the previous placement's, and
// the status constants. Each decoded allocation carries copies of its own,
// and a store of a million allocations would hold a million of each.
func shareStrings(a, prev *structs.Allocation) {
	share := shareString
	if j := a.Job; j != nil {
		share(&a.Namespace, j.Namespace)
		share(&a.JobID, j.ID)
	}
	if prev != nil {
		share(&a.EvalID, prev.EvalID)
		share(&a.NodeID, prev.NodeID)
		share(&a.NodeName, prev.NodeName)
		share(&a.TaskGroup, prev.TaskGroup)
		share(&a.DeploymentID, prev.DeploymentID)
	}
	share(&a.DesiredStatus, structs.AllocDesiredStatusRun, structs.AllocDesiredStatusStop, structs.AllocDesiredStatusEvict)
	share(&a.ClientStatus, structs.AllocClientStatusPending, structs.AllocClientStatusRunning)
	if m := a.Metrics; m != nil {
		for _, sm := range m.ScoreMetaData {
			if sm != nil {
				share(&sm.NodeID, a.NodeID)
			}
		}
	}
}

// shareResources points the allocation's grant at the previous
// placement's when they are equal and hold nothing of their own (ports,
// networks, cores): the placements of a task group mostly get the same
// grant, a map and a struct per task that a million allocations would
// otherwise each hold. Stored allocations are never changed in place, so
// sharing is safe.
func shareResources(a, prev *structs.Allocation) {
	if prev != nil && prev.AllocatedResources != a.AllocatedResources && plainEqualResources(a.AllocatedResources, prev.AllocatedResources) {
		a.AllocatedResources = prev.AllocatedResources
	}
}

// plainEqualResources reports whether x and y grant the same CPU, memory
// and disk, and neither holds networks, ports or reserved cores.
func plainEqualResources(x, y *structs.AllocatedResources) bool {
	if x == nil || y == nil || len(x.Tasks) != len(y.Tasks) || x.Shared.DiskMB != y.Shared.DiskMB ||
		len(x.Shared.Networks)+len(x.Shared.Ports)+len(y.Shared.Networks)+len(y.Shared.Ports) != 0 {
		return false
	}
	for name, t := range x.Tasks {
		u, ok := y.Tasks[name]
		if !ok || t == nil || u == nil || t.Cpu.CpuShares != u.Cpu.CpuShares || t.Memory != u.Memory ||
			len(t.Cpu.ReservedCores)+len(u.Cpu.ReservedCores)+len(t.Networks)+len(u.Networks) != 0 {
			return false
		}
	}
	return true
}

// shareString points *s at the first candidate equal to it, so that the
// store holds one copy of a string that repeats.
func shareString(s *string, candidates ...string) {
	for _, c := range candidates {
		if *s == c {
			*s = c
			return
		}
	}
}

// upsertAllocTxn inserts a new allocation, or applies a server-side update
// (desired status, transition) to an existing one, keeping what the client
// reported.
// When owned, in itself is stored; otherwise a copy of it.
func upsertAllocTxn(txn *memdb.Txn, batch *writeBatch, index uint64, in *structs.Allocation, owned bool) (*structs.Allocation, error) {
	if in.ID == "" {
		return nil, fmt.Errorf("insert alloc: allocation has no ID")
	}
	x, err := batch.allocTxn(txn)
	if err != nil {
		return nil, err
	}
	a := in
	if !owned {
		a = in.Copy()
	}
	// Put first: it finds the stored version on its way, and what it
	// stores is a, whose fields are settled below before anything reads
	// the transaction's tree. An error abandons the transaction.
	old := x.Put(a)
	if old == nil {
		a.CreateIndex = index
		if a.Job == nil {
			return nil, fmt.Errorf("alloc %s has no job", a.ID)
		}
	} else {
		a.CreateIndex = old.CreateIndex
		if a.Job == nil {
			a.Job = old.Job
		}
		// The client owns these fields; a server-side update must not
		// roll them back, except to mark an allocation lost or unknown.
		if a.ClientStatus != structs.AllocClientStatusLost && a.ClientStatus != structs.AllocClientStatusUnknown {
			a.ClientStatus = old.ClientStatus
			a.ClientDescription = old.ClientDescription
		}
		a.TaskStates = old.TaskStates
		if a.DeploymentStatus == nil {
			a.DeploymentStatus = old.DeploymentStatus
		}
		if a.NetworkStatus == nil {
			a.NetworkStatus = old.NetworkStatus
		}
	}
	a.ModifyIndex = index
	a.AllocModifyIndex = index
	trackAllocWrite(batch, old, a)
	return a, nil
}

// UpdateAllocsFromClient applies what clients report: client status, task
// states, deployment health. AllocModifyIndex is left alone so the client
// is not woken by its own update.
func (s *StateStore) UpdateAllocsFromClient(index uint64, allocs []*structs.Allocation) error {
	_, err := s.ApplyClientUpdates(index, allocs)
	return err
}

// ApplyClientUpdates is UpdateAllocsFromClient that also returns the
// updated allocations as stored; those garbage collected meanwhile are
// left out.
func (s *StateStore) ApplyClientUpdates(index uint64, allocs []*structs.Allocation) ([]*structs.Allocation, error) {
	return s.ApplyClientStatus(index, structs.ClientStatusesOf(allocs))
}

// ApplyClientStatus is ApplyClientUpdates for the reports alone.
func (s *StateStore) ApplyClientStatus(index uint64, reports []structs.AllocClientStatus) ([]*structs.Allocation, error) {
	txn := s.db.Txn(true)
	defer txn.Abort()
	jobs := map[structs.NamespacedID]struct{}{}
	batch := newWriteBatch()
	stored := make([]*structs.Allocation, 0, len(reports))
	x, err := batch.allocTxn(txn)
	if err != nil {
		return nil, err
	}
	for i := range reports {
		in := &reports[i]
		old, a := x.Update(in.ID, func(old *structs.Allocation) *structs.Allocation {
			// Stored allocations are never changed in place, so the new
			// version shares what it does not replace with the old one.
			c := *old
			a := &c
			a.ClientStatus = in.ClientStatus
			// The stored string or a constant, not the decoded copy.
			shareString(&a.ClientStatus, old.ClientStatus, structs.AllocClientStatusRunning)
			a.ClientDescription = in.ClientDescription
			if in.TaskStates != nil {
				a.TaskStates = in.TaskStates
			}
			if in.DeploymentStatus != nil {
				a.DeploymentStatus = in.DeploymentStatus
			}
			if in.NetworkStatus != nil {
				a.NetworkStatus = in.NetworkStatus
			}
			if in.ModifyTime != 0 {
				a.ModifyTime = in.ModifyTime
			}
			a.ModifyIndex = index
			return a
		})
		if old == nil {
			continue // garbage collected meanwhile
		}
		trackAllocWrite(batch, old, a)
		stored = append(stored, a)
		jobs[structs.NamespacedID{ID: a.JobID, Namespace: a.Namespace}] = struct{}{}
	}
	if err := batch.flush(txn); err != nil {
		return nil, err
	}
	if err := setIndex(txn, tableAllocs, index); err != nil {
		return nil, err
	}
	if err := refreshJobStatus(txn, index, jobs); err != nil {
		return nil, err
	}
	txn.Commit()
	return stored, nil
}

// UpdateAllocsDesiredTransition sets transitions (migrate, reschedule) on allocations.
func (s *StateStore) UpdateAllocsDesiredTransition(index uint64, transitions map[string]*structs.DesiredTransition, evals []*structs.Evaluation) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	jobs := map[structs.NamespacedID]struct{}{}
	batch := newWriteBatch()
	for id, tr := range transitions {
		old, err := batch.alloc(txn, id)
		if err != nil {
			return err
		}
		if old == nil {
			continue
		}
		c := *old // shares the rest: stored allocations are not changed in place
		a := &c
		a.DesiredTransition = *tr
		a.ModifyIndex = index
		if err := insertAllocTxn(txn, batch, old, a); err != nil {
			return err
		}
	}
	if err := batch.flush(txn); err != nil {
		return err
	}
	if err := setIndex(txn, tableAllocs, index); err != nil {
		return err
	}
	if err := upsertEvalsTxn(txn, index, evals, jobs); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

// AllocByID returns an allocation or nil. The watch it adds to ws fires
// when the allocation is written, and may fire for other allocations of
// its job; for an allocation not stored, it fires when any is written.
func (s *StateStore) AllocByID(ws memdb.WatchSet, id string) (*structs.Allocation, error) {
	txn := s.db.Txn(false)
	allocs, anyWrite, err := allocsWatch(txn)
	if err != nil {
		return nil, err
	}
	a := allocs.Get(id)
	if a == nil {
		ws.Add(anyWrite)
		return nil, nil
	}
	return a, watchAllocsChanged(txn, ws, jobChangedKey(a.Namespace, a.JobID))
}

// Allocs lists allocations whose ID starts with prefix, in namespace ns ("" or "*" for all).
func (s *StateStore) Allocs(ws memdb.WatchSet, ns, prefix string) ([]*structs.Allocation, error) {
	allocs, err := allocsIn(s.db.Txn(false), ws)
	if err != nil {
		return nil, err
	}
	var out []*structs.Allocation
	allocs.Ascend(prefix, func(a *structs.Allocation) bool {
		if ns == "" || ns == "*" || a.Namespace == ns {
			out = append(out, a)
		}
		return true
	})
	return out, nil
}

// AllocsByJob lists a job's allocations, terminal ones included. A watch
// in ws fires when any of them is written or a new one is placed.
func (s *StateStore) AllocsByJob(ws memdb.WatchSet, ns, jobID string) ([]*structs.Allocation, error) {
	return allocsOfJob(s.db.Txn(false), ws, ns, jobID)
}

// AllocsByNode lists a node's allocations, terminal ones included, with a
// watch as AllocsByJob.
func (s *StateStore) AllocsByNode(ws memdb.WatchSet, nodeID string) ([]*structs.Allocation, error) {
	return allocsOfNode(s.db.Txn(false), ws, nodeID)
}

// AllocsByEval lists the allocations an evaluation placed. The allocs
// table has no index by evaluation: every placement would pay for it, in
// the store's busiest write path, while this read is rare. The
// evaluation's job's allocations are filtered instead; for an evaluation
// no longer stored, all allocations are.
func (s *StateStore) AllocsByEval(ws memdb.WatchSet, evalID string) ([]*structs.Allocation, error) {
	txn := s.db.Txn(false)
	raw, err := txn.First(tableEvals, "id", evalID)
	if err != nil {
		return nil, fmt.Errorf("eval lookup: %w", err)
	}
	var out []*structs.Allocation
	keep := func(a *structs.Allocation) {
		if a.EvalID == evalID {
			out = append(out, a)
		}
	}
	if raw != nil {
		e := raw.(*structs.Evaluation)
		all, err := allocsOfJob(txn, ws, e.Namespace, e.JobID)
		if err != nil {
			return nil, err
		}
		for _, a := range all {
			keep(a)
		}
		return out, nil
	}
	allocs, err := allocsIn(txn, ws)
	if err != nil {
		return nil, err
	}
	allocs.Ascend("", func(a *structs.Allocation) bool {
		keep(a)
		return true
	})
	return out, nil
}
