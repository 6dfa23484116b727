package server

import (
	"context"
	"sort"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// drainInterval is how often the leader's drainer looks at draining nodes.
var drainInterval = 500 * time.Millisecond

// drainDecision is what the drainer does next for one node.
type drainDecision struct {
	// migrate are allocations to mark for migration now.
	migrate []*structs.Allocation
	// done means the node holds nothing more to drain.
	done bool
}

// decideDrain is the drainer's pure core. nodeAllocs are the allocations on
// the draining node; jobAllocs are all allocations of each job that has one
// there, by job. As in Nomad: each service task group migrates at most
// migrate.max_parallel allocations at a time across all nodes (1 without a
// migrate block), an allocation marked earlier counting until its
// replacement has run for min_healthy_time (or missed healthy_deadline), or
// until it has finished with no replacement (one that could not be placed
// does not stall the drain); batch and sysbatch
// allocations are left to finish; system allocations go last, unless the
// drain ignores them. At the force deadline everything left is marked.
func decideDrain(now time.Time, node *structs.Node, nodeAllocs []*structs.Allocation, jobAllocs map[structs.NamespacedID][]*structs.Allocation) drainDecision {
	ds := node.DrainStrategy
	if ds == nil {
		return drainDecision{}
	}
	var regular, batch, system []*structs.Allocation
	for _, a := range nodeAllocs {
		if a.TerminalStatus() {
			continue
		}
		typ := ""
		if a.Job != nil {
			typ = a.Job.Type
		}
		switch typ {
		case structs.JobTypeSystem:
			if !ds.IgnoreSystemJobs {
				system = append(system, a)
			}
		case structs.JobTypeBatch, structs.JobTypeSysBatch:
			batch = append(batch, a)
		default:
			regular = append(regular, a)
		}
	}
	if len(regular) == 0 && len(batch) == 0 && len(system) == 0 {
		return drainDecision{done: true}
	}
	sortAllocs(regular)
	sortAllocs(batch)
	sortAllocs(system)
	var out drainDecision
	if ds.ForceDeadline > 0 && !now.Before(time.Unix(0, ds.ForceDeadline)) {
		for _, a := range append(append(regular, batch...), system...) {
			if !marked(a) {
				out.migrate = append(out.migrate, a)
			}
		}
		return out
	}
	if len(regular) == 0 && len(batch) > 0 {
		return out
	}
	if len(regular) == 0 {
		for _, a := range system {
			if !marked(a) {
				out.migrate = append(out.migrate, a)
			}
		}
		return out
	}

	type groupKey struct {
		job   structs.NamespacedID
		group string
	}
	inflight := map[groupKey]int{}
	seen := map[groupKey]bool{}
	for _, a := range regular {
		k := groupKey{structs.NamespacedID{ID: a.JobID, Namespace: a.Namespace}, a.TaskGroup}
		if seen[k] {
			continue
		}
		seen[k] = true
		for _, o := range jobAllocs[k.job] {
			if o.TaskGroup == k.group && marked(o) && migrating(now, o, jobAllocs[k.job]) {
				inflight[k]++
			}
		}
	}
	for _, a := range regular {
		if marked(a) {
			continue
		}
		k := groupKey{structs.NamespacedID{ID: a.JobID, Namespace: a.Namespace}, a.TaskGroup}
		if inflight[k] >= maxParallel(a) {
			continue
		}
		inflight[k]++
		out.migrate = append(out.migrate, a)
	}
	return out
}

func sortAllocs(as []*structs.Allocation) {
	sort.Slice(as, func(i, j int) bool {
		if as[i].CreateIndex != as[j].CreateIndex {
			return as[i].CreateIndex < as[j].CreateIndex
		}
		return as[i].ID < as[j].ID
	})
}

func marked(a *structs.Allocation) bool {
	return a.DesiredTransition.Migrate != nil && *a.DesiredTransition.Migrate
}

// migrating reports whether a marked allocation's move is still under way:
// its replacement is not yet healthy, that is running with every task up
// for min_healthy_time, and has not missed healthy_deadline.
func migrating(now time.Time, a *structs.Allocation, all []*structs.Allocation) bool {
	ms := migrateStrategy(a)
	for _, r := range all {
		if r.PreviousAllocation != a.ID {
			continue
		}
		if r.ClientTerminalStatus() {
			return false
		}
		if ms.HealthyDeadline > 0 && now.Sub(time.Unix(0, r.CreateTime)) > ms.HealthyDeadline {
			return false
		}
		if r.ClientStatus != structs.AllocClientStatusRunning {
			return true
		}
		if ds := r.DeploymentStatus; ds != nil && ds.Healthy != nil {
			return !*ds.Healthy
		}
		up := time.Unix(0, r.CreateTime)
		if len(r.TaskStates) > 0 {
			up = time.Time{}
		}
		for _, ts := range r.TaskStates {
			if ts == nil || ts.State != structs.TaskStateRunning {
				return true
			}
			if ts.StartedAt.After(up) {
				up = ts.StartedAt
			}
		}
		return now.Sub(up) < ms.MinHealthyTime
	}
	return !a.ClientTerminalStatus()
}

// migrateStrategy is the allocation's group's migrate block, or Nomad's
// default.
func migrateStrategy(a *structs.Allocation) *structs.MigrateStrategy {
	if a.Job != nil {
		if tg := a.Job.LookupTaskGroup(a.TaskGroup); tg != nil && tg.Migrate != nil {
			return tg.Migrate
		}
	}
	return structs.DefaultMigrateStrategy()
}

func maxParallel(a *structs.Allocation) int {
	if n := migrateStrategy(a).MaxParallel; n > 0 {
		return n
	}
	return 1
}

// runDrainer is the leader loop that moves allocations off draining nodes
// and ends each drain when its node is empty; the node stays ineligible.
func (s *Server) runDrainer(ctx context.Context) {
	t := time.NewTicker(drainInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.drainOnce(time.Now()); err != nil {
			s.logger.Warn("node drainer", "error", err)
		}
	}
}

func (s *Server) drainOnce(now time.Time) error {
	st := s.State()
	nodes, err := st.Nodes(nil, "")
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if n.DrainStrategy == nil {
			continue
		}
		allocs, err := st.AllocsByNode(nil, n.ID)
		if err != nil {
			return err
		}
		byJob := map[structs.NamespacedID][]*structs.Allocation{}
		for _, a := range allocs {
			k := structs.NamespacedID{ID: a.JobID, Namespace: a.Namespace}
			if _, ok := byJob[k]; ok {
				continue
			}
			if byJob[k], err = st.AllocsByJob(nil, a.Namespace, a.JobID); err != nil {
				return err
			}
		}
		d := decideDrain(now, n, allocs, byJob)
		if d.done {
			upd := structs.NodeDrainUpdate{NodeID: n.ID, Event: &structs.NodeEvent{Message: "Node drain complete", Subsystem: "Drain", Timestamp: now}}
			if _, err := s.raftApply(structs.NodeDrainUpdateRequestType, &upd); err != nil {
				return err
			}
			s.logger.Info("node drain complete", "node_id", n.ID)
			continue
		}
		if len(d.migrate) == 0 {
			continue
		}
		yes := true
		upd := structs.AllocTransitionUpdate{Transitions: map[string]*structs.DesiredTransition{}}
		evalFor := map[structs.NamespacedID]bool{}
		for _, a := range d.migrate {
			tr := a.DesiredTransition
			tr.Migrate = &yes
			upd.Transitions[a.ID] = &tr
			k := structs.NamespacedID{ID: a.JobID, Namespace: a.Namespace}
			if evalFor[k] {
				continue
			}
			evalFor[k] = true
			j, err := st.JobByID(nil, a.Namespace, a.JobID)
			if err != nil {
				return err
			}
			if j == nil {
				j = a.Job
			}
			if j != nil {
				ev := childEval(j, structs.EvalTriggerNodeDrain)
				ev.NodeID = n.ID
				upd.Evals = append(upd.Evals, ev)
			}
		}
		if _, err := s.raftApply(structs.AllocTransitionRequestType, &upd); err != nil {
			return err
		}
		s.logger.Info("draining allocations", "node_id", n.ID, "count", len(d.migrate))
	}
	return nil
}
