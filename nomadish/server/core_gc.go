package server

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/nomadish/nomadish/nomadish/state"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// The core garbage collector. While leader, a server looks every
// JobGCInterval for finished objects older than their threshold and
// deletes them through Raft (GCReapRequestType), as Nomad's core
// scheduler does:
//
//   - evaluations: terminal, and every allocation they created collectable;
//     a batch job's evaluation waits until the job is stopped and dead,
//     only its allocations of older job versions going before;
//   - allocations: terminal on both sides (the servers no longer want them
//     run and the client finished them); while their job lives, a failed
//     allocation stays until it was replaced or its reschedule policy gives
//     up on it;
//   - deployments: terminal, no live allocation in them, and not their
//     job's latest;
//   - jobs: stopped or dead (batch, sysbatch, periodic and dispatched
//     children), with every evaluation, allocation and deployment
//     collectable; periodic and parameterized parents only once stopped;
//   - nodes: down, with no live allocation.
//
// Before each pass, blocked evaluations that can never run again (all but
// the newest of a job, and those of stopped jobs) are cancelled, so that
// they and their jobs become collectable.
//
// PUT /v1/system/gc runs a pass that ignores the thresholds.

func init() {
	registerApply(structs.GCReapRequestType, (*fsm).applyGCReap)
}

func (f *fsm) applyGCReap(index uint64, buf []byte) interface{} {
	var req structs.GCReapRequest
	if err := decodeMsg(buf, &req); err != nil {
		return err
	}
	res, err := f.State().ReapGC(index, &req)
	if err != nil {
		return err
	}
	return res
}

// gcBatchSize bounds the objects one Raft entry deletes.
const gcBatchSize = 2048

// gcCutoffs are, per kind of object, the highest modify index an object
// may have to be collected.
type gcCutoffs struct {
	Job, Eval, BatchEval, Deployment, Node uint64
}

// forcedCutoffs ignore every threshold.
var forcedCutoffs = gcCutoffs{Job: math.MaxUint64, Eval: math.MaxUint64, BatchEval: math.MaxUint64,
	Deployment: math.MaxUint64, Node: math.MaxUint64}

// gcCutoffsAt turns the configured thresholds into index cutoffs with the
// time table.
func (s *Server) gcCutoffsAt(now time.Time) gcCutoffs {
	c, t := s.config, s.fsm.timetable
	return gcCutoffs{
		Job:        t.nearestIndex(now.Add(-c.JobGCThreshold)),
		Eval:       t.nearestIndex(now.Add(-c.EvalGCThreshold)),
		BatchEval:  t.nearestIndex(now.Add(-c.BatchEvalGCThreshold)),
		Deployment: t.nearestIndex(now.Add(-c.DeploymentGCThreshold)),
		Node:       t.nearestIndex(now.Add(-c.NodeGCThreshold)),
	}
}

// gcTimeTable sizes the time table for the configured thresholds: fine
// enough for the shortest, long enough for the longest.
func gcTimeTable(c *Config) *timeTable {
	shortest, longest := c.JobGCThreshold, c.JobGCThreshold
	for _, d := range []time.Duration{c.EvalGCThreshold, c.BatchEvalGCThreshold, c.DeploymentGCThreshold, c.NodeGCThreshold} {
		shortest, longest = min(shortest, d), max(longest, d)
	}
	granularity := min(max(shortest/10, time.Millisecond), 5*time.Minute)
	return newTimeTable(granularity, longest+2*granularity)
}

// runGC is the leader's garbage collection loop.
func (s *Server) runGC(ctx context.Context) {
	t := time.NewTicker(s.config.JobGCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.cancelStaleBlockedEvals(); err != nil {
			s.logger.Warn("cancel stale blocked evaluations", "error", err)
		}
		res, err := s.collectGarbage(ctx, false)
		if err != nil {
			s.logger.Warn("garbage collection", "error", err)
			continue
		}
		if res != (structs.GCResult{}) {
			s.logger.Debug("garbage collected", "jobs", res.Jobs, "evals", res.Evals, "allocs", res.Allocs,
				"deployments", res.Deployments, "nodes", res.Nodes)
		}
	}
}

// collectGarbage runs one pass on the leader; force ignores the
// thresholds. Passes do not overlap.
func (s *Server) collectGarbage(ctx context.Context, force bool) (structs.GCResult, error) {
	s.gcMu.Lock()
	defer s.gcMu.Unlock()
	var total structs.GCResult
	now := timeNow()
	cut := forcedCutoffs
	if !force {
		cut = s.gcCutoffsAt(now)
	}
	req, err := gcPlan(s.State().Snapshot(), cut, now)
	if err != nil {
		return total, err
	}
	for _, b := range splitReap(req, gcBatchSize) {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		res, err := s.applyReap(b)
		if err != nil {
			return total, err
		}
		total.Jobs += res.Jobs
		total.Evals += res.Evals
		total.Allocs += res.Allocs
		total.Deployments += res.Deployments
		total.Nodes += res.Nodes
	}
	return total, nil
}

// applyReap commits one reap request and returns what it deleted.
func (s *Server) applyReap(req *structs.GCReapRequest) (structs.GCResult, error) {
	buf, err := encodeMsg(structs.GCReapRequestType, req)
	if err != nil {
		return structs.GCResult{}, err
	}
	f := s.raft.Apply(buf, rpcTimeout)
	if err := f.Error(); err != nil {
		return structs.GCResult{}, fmt.Errorf("raft apply: %w", err)
	}
	switch r := f.Response().(type) {
	case error:
		return structs.GCResult{}, r
	case structs.GCResult:
		return r, nil
	}
	return structs.GCResult{}, nil
}

// splitReap cuts a request into requests of at most n objects. Within the
// whole, allocations come before their evaluations, and both before their
// jobs, so a job is never deleted before what belongs to it.
func splitReap(req *structs.GCReapRequest, n int) []*structs.GCReapRequest {
	var out []*structs.GCReapRequest
	cur := &structs.GCReapRequest{}
	room := func() bool {
		if cur.Size() < n {
			return true
		}
		out = append(out, cur)
		cur = &structs.GCReapRequest{}
		return true
	}
	for _, id := range req.Allocs {
		room()
		cur.Allocs = append(cur.Allocs, id)
	}
	for _, id := range req.Evals {
		room()
		cur.Evals = append(cur.Evals, id)
	}
	for _, id := range req.Deployments {
		room()
		cur.Deployments = append(cur.Deployments, id)
	}
	for _, j := range req.Jobs {
		room()
		cur.Jobs = append(cur.Jobs, j)
	}
	for _, id := range req.Nodes {
		room()
		cur.Nodes = append(cur.Nodes, id)
	}
	if !cur.Empty() {
		out = append(out, cur)
	}
	return out
}

// gcPlan decides, from a snapshot, what one pass deletes. It is pure: the
// cutoffs and the time come in.
func gcPlan(snap *state.StateStore, cut gcCutoffs, now time.Time) (*structs.GCReapRequest, error) {
	p := &gcPlanner{snap: snap, now: now, req: &structs.GCReapRequest{},
		evals: map[string]bool{}, allocs: map[string]bool{}, deployments: map[string]bool{}}
	if err := p.jobs(cut.Job); err != nil {
		return nil, err
	}
	if err := p.evalsPass(cut); err != nil {
		return nil, err
	}
	if err := p.deploymentsPass(cut.Deployment); err != nil {
		return nil, err
	}
	if err := p.nodes(cut.Node); err != nil {
		return nil, err
	}
	return p.req, nil
}

type gcPlanner struct {
	snap *state.StateStore
	now  time.Time
	req  *structs.GCReapRequest
	// what the request already deletes
	evals, allocs, deployments map[string]bool
	// jobCache holds, per job, the job and its allocations by evaluation, so
	// a job with many evaluations has its allocations read once a pass.
	jobCache map[structs.NamespacedID]*gcJobAllocs
}

// gcJobAllocs is a job of the snapshot (nil when gone) and its
// allocations by the evaluation that placed them.
type gcJobAllocs struct {
	job    *structs.Job
	byEval map[string][]*structs.Allocation
}

// jobAllocs returns the job of an evaluation and its allocations by
// evaluation, reading them once per job.
func (p *gcPlanner) jobAllocs(ns, jobID string) (*gcJobAllocs, error) {
	key := structs.NamespacedID{Namespace: ns, ID: jobID}
	if c, ok := p.jobCache[key]; ok {
		return c, nil
	}
	job, err := p.snap.JobByID(nil, ns, jobID)
	if err != nil {
		return nil, err
	}
	allocs, err := p.snap.AllocsByJob(nil, ns, jobID)
	if err != nil {
		return nil, err
	}
	c := &gcJobAllocs{job: job, byEval: map[string][]*structs.Allocation{}}
	for _, a := range allocs {
		c.byEval[a.EvalID] = append(c.byEval[a.EvalID], a)
	}
	if p.jobCache == nil {
		p.jobCache = map[structs.NamespacedID]*gcJobAllocs{}
	}
	p.jobCache[key] = c
	return c, nil
}

func (p *gcPlanner) addAlloc(id string) {
	if !p.allocs[id] {
		p.allocs[id] = true
		p.req.Allocs = append(p.req.Allocs, id)
	}
}

func (p *gcPlanner) addEval(id string) {
	if !p.evals[id] {
		p.evals[id] = true
		p.req.Evals = append(p.req.Evals, id)
	}
}

func (p *gcPlanner) addDeployment(id string) {
	if !p.deployments[id] {
		p.deployments[id] = true
		p.req.Deployments = append(p.req.Deployments, id)
	}
}

// jobCollectable says whether a job's kind and status let it be
// collected at all: periodic and parameterized parents once stopped; other
// jobs once dead and either stopped or of a kind that finishes by itself.
func jobCollectable(j *structs.Job) bool {
	if j.IsPeriodic() || j.IsParameterized() {
		return j.Stop
	}
	if j.Status != structs.JobStatusDead {
		return false
	}
	return j.Stop || j.Type == structs.JobTypeBatch || j.Type == structs.JobTypeSysBatch
}

// jobs collects finished jobs with everything that belongs to them.
func (p *gcPlanner) jobs(cutoff uint64) error {
	jobs, err := p.snap.Jobs(nil, "*", "")
	if err != nil {
		return err
	}
JOBS:
	for _, j := range jobs {
		if !jobCollectable(j) || j.ModifyIndex > cutoff {
			continue
		}
		versions, err := p.snap.JobVersions(nil, j.Namespace, j.ID)
		if err != nil {
			return err
		}
		for _, v := range versions {
			if v.VersionTag != nil {
				continue JOBS // a tagged version is kept, with its job
			}
		}
		evals, err := p.snap.EvalsByJob(nil, j.Namespace, j.ID)
		if err != nil {
			return err
		}
		for _, e := range evals {
			if !e.TerminalStatus() || e.ModifyIndex > cutoff {
				continue JOBS
			}
		}
		allocs, err := p.snap.AllocsByJob(nil, j.Namespace, j.ID)
		if err != nil {
			return err
		}
		for _, a := range allocs {
			if !allocCollectable(a, j, p.now, cutoff) {
				continue JOBS
			}
		}
		deployments, err := p.snap.DeploymentsByJob(nil, j.Namespace, j.ID)
		if err != nil {
			return err
		}
		for _, d := range deployments {
			if d.Active() {
				continue JOBS
			}
		}
		for _, a := range allocs {
			p.addAlloc(a.ID)
		}
		for _, e := range evals {
			p.addEval(e.ID)
		}
		for _, d := range deployments {
			p.addDeployment(d.ID)
		}
		p.req.Jobs = append(p.req.Jobs, structs.GCJob{Namespace: j.Namespace, ID: j.ID, ModifyIndex: j.ModifyIndex})
	}
	return nil
}

// evalsPass collects finished evaluations and their allocations.
func (p *gcPlanner) evalsPass(cut gcCutoffs) error {
	evals, err := p.snap.Evals(nil, "*", "")
	if err != nil {
		return err
	}
	for _, e := range evals {
		if p.evals[e.ID] {
			continue
		}
		cutoff := cut.Eval
		if e.Type == structs.JobTypeBatch {
			cutoff = cut.BatchEval
		}
		collect, allocs, err := p.evalCollectable(e, cutoff)
		if err != nil {
			return err
		}
		for _, id := range allocs {
			p.addAlloc(id)
		}
		if collect {
			p.addEval(e.ID)
		}
	}
	return nil
}

// evalCollectable says whether an evaluation can go, and which of its
// allocations can.
func (p *gcPlanner) evalCollectable(e *structs.Evaluation, cutoff uint64) (bool, []string, error) {
	if !e.TerminalStatus() || e.ModifyIndex > cutoff {
		return false, nil, nil
	}
	ja, err := p.jobAllocs(e.Namespace, e.JobID)
	if err != nil {
		return false, nil, err
	}
	job, allocs := ja.job, ja.byEval[e.ID]
	// A live batch job still needs its finished allocations of the current
	// version, or the scheduler would run them again: only those of older
	// versions go, and the evaluation once none is left.
	if e.Type == structs.JobTypeBatch && job != nil && !(job.Stop && job.Status == structs.JobStatusDead) {
		var old []string
		for _, a := range allocs {
			if a.CreateIndex < job.JobModifyIndex && a.ModifyIndex <= cutoff && a.TerminalStatus() && a.ClientTerminalStatus() {
				old = append(old, a.ID)
			}
		}
		return len(old) == len(allocs), old, nil
	}
	all := true
	var ids []string
	for _, a := range allocs {
		if allocCollectable(a, job, p.now, cutoff) {
			ids = append(ids, a.ID)
		} else {
			all = false
		}
	}
	return all, ids, nil
}

// allocCollectable says whether an allocation can go: terminal on both
// sides and old enough; while its job lives, a failed allocation stays
// until it was replaced or its reschedule policy gave up on it.
func allocCollectable(a *structs.Allocation, job *structs.Job, now time.Time, cutoff uint64) bool {
	if !a.TerminalStatus() || !a.ClientTerminalStatus() || a.ModifyIndex > cutoff {
		return false
	}
	if job == nil || job.Stop || job.Status == structs.JobStatusDead {
		return true
	}
	if a.DesiredStatus == structs.AllocDesiredStatusStop || a.DesiredStatus == structs.AllocDesiredStatusEvict {
		return true
	}
	if a.ClientStatus != structs.AllocClientStatusFailed || a.NextAllocation != "" {
		return true
	}
	tg := job.LookupTaskGroup(a.TaskGroup)
	if tg == nil {
		return true
	}
	policy := tg.ReschedulePolicy
	if policy == nil {
		policy = structs.DefaultReschedulePolicy(job.Type)
	}
	if policy == nil || (!policy.Unlimited && policy.Attempts <= 0) {
		return true
	}
	if policy.Unlimited || a.RescheduleTracker == nil || len(a.RescheduleTracker.Events) == 0 {
		return false
	}
	last := a.RescheduleTracker.Events[len(a.RescheduleTracker.Events)-1]
	return now.Sub(time.Unix(0, last.RescheduleTime)) > policy.Interval
}

// deploymentsPass collects finished deployments that are not their job's
// latest and hold no live allocation.
func (p *gcPlanner) deploymentsPass(cutoff uint64) error {
	deployments, err := p.snap.Deployments(nil, "*", "")
	if err != nil {
		return err
	}
	for _, d := range deployments {
		if p.deployments[d.ID] || d.Active() || d.ModifyIndex > cutoff {
			continue
		}
		latest, err := p.snap.LatestDeploymentByJobID(nil, d.Namespace, d.JobID)
		if err != nil {
			return err
		}
		if latest != nil && latest.ID == d.ID {
			continue
		}
		allocs, err := p.snap.AllocsByJob(nil, d.Namespace, d.JobID)
		if err != nil {
			return err
		}
		live := false
		for _, a := range allocs {
			if a.DeploymentID == d.ID && !a.TerminalStatus() {
				live = true
				break
			}
		}
		if !live {
			p.addDeployment(d.ID)
		}
	}
	return nil
}

// nodes collects down nodes without live allocations.
func (p *gcPlanner) nodes(cutoff uint64) error {
	nodes, err := p.snap.Nodes(nil, "")
	if err != nil {
		return err
	}
NODES:
	for _, n := range nodes {
		if n.Status != structs.NodeStatusDown || n.ModifyIndex > cutoff {
			continue
		}
		allocs, err := p.snap.AllocsByNode(nil, n.ID)
		if err != nil {
			return err
		}
		for _, a := range allocs {
			if !a.TerminalStatus() {
				continue NODES
			}
		}
		p.req.Nodes = append(p.req.Nodes, n.ID)
	}
	return nil
}

// descBlockedStale is the description of a blocked evaluation cancelled
// because it can never run.
const descBlockedStale = "cancelled: a newer blocked evaluation exists for the job, or the job was stopped"

// cancelStaleBlockedEvals marks cancelled the blocked evaluations that will
// never run again: all but the newest of each job (the blocked-evaluation
// tracker keeps only the newest, as Nomad's leader cancels the duplicates),
// and those of stopped or purged jobs. Blocked is not terminal, so until
// then neither they nor their jobs could be collected.
func (s *Server) cancelStaleBlockedEvals() error {
	snap := s.State().Snapshot()
	evals, err := snap.Evals(nil, "*", "")
	if err != nil {
		return err
	}
	newest := map[structs.NamespacedID]*structs.Evaluation{}
	var blocked []*structs.Evaluation
	for _, e := range evals {
		if e.Status != structs.EvalStatusBlocked {
			continue
		}
		blocked = append(blocked, e)
		id := structs.NamespacedID{ID: e.JobID, Namespace: e.Namespace}
		if cur := newest[id]; cur == nil || e.CreateIndex > cur.CreateIndex {
			newest[id] = e
		}
	}
	now := timeNow().UnixNano()
	var cancel []*structs.Evaluation
	for _, e := range blocked {
		job, err := snap.JobByID(nil, e.Namespace, e.JobID)
		if err != nil {
			return err
		}
		if job != nil && !job.Stop && newest[structs.NamespacedID{ID: e.JobID, Namespace: e.Namespace}] == e {
			continue
		}
		c := e.Copy()
		c.Status, c.StatusDescription, c.ModifyTime = structs.EvalStatusCancelled, descBlockedStale, now
		cancel = append(cancel, c)
	}
	for len(cancel) > 0 {
		n := min(len(cancel), gcBatchSize)
		if _, err := s.raftApply(structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: cancel[:n]}); err != nil {
			return err
		}
		cancel = cancel[n:]
	}
	return nil
}

// SystemEndpoint serves cluster-wide maintenance RPCs.
type SystemEndpoint struct {
	srv *Server
}

// GarbageCollect runs a garbage collection pass on the leader now,
// ignoring the age thresholds, and returns once its deletions are
// committed.
func (e *SystemEndpoint) GarbageCollect(args *structs.SystemGCRequest, reply *structs.SystemGCResponse) error {
	if done, err := e.srv.forward("System.GarbageCollect", false, args, reply); done {
		return err
	}
	if err := e.srv.cancelStaleBlockedEvals(); err != nil {
		return fmt.Errorf("cancel stale blocked evaluations: %w", err)
	}
	res, err := e.srv.collectGarbage(e.srv.ctx, true)
	if err != nil {
		return fmt.Errorf("garbage collection: %w", err)
	}
	reply.Collected = res
	reply.Index = e.srv.State().LatestIndex()
	return nil
}
