package scheduler

import (
	"sort"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// DeploymentState is the optional part of State that knows deployments. A
// State without it gets no rolling-update limits.
type DeploymentState interface {
	// LatestDeployment returns the job's newest deployment, or nil.
	LatestDeployment(namespace, jobID string) (*structs.Deployment, error)
}

// rollout limits destructive updates to each group's max_parallel while
// the job's deployment runs, and tags the plan's allocations with it.
type rollout struct {
	d   *structs.Deployment
	job *structs.Job
	// left is how many more destructive updates each group may start.
	left map[string]int
	// canaryNames are the names of the canaries this plan places.
	canaryNames map[string]bool
}

// newRollout reads the deployment of the job's current version. With no
// such deployment (or no DeploymentState) it returns nil: no limits.
func newRollout(state State, job *structs.Job, allocs []*structs.Allocation) (*rollout, error) {
	ds, ok := state.(DeploymentState)
	if !ok || job == nil {
		return nil, nil
	}
	d, err := ds.LatestDeployment(job.Namespace, job.ID)
	if err != nil || d == nil || d.JobVersion != job.Version || d.JobCreateIndex != job.CreateIndex {
		return nil, err
	}
	r := &rollout{d: d, job: job, left: map[string]int{}, canaryNames: map[string]bool{}}
	for _, tg := range job.TaskGroups {
		if tg.Update == nil || tg.Update.MaxParallel <= 0 || d.TaskGroups[tg.Name] == nil {
			continue
		}
		if d.Status != structs.DeploymentStatusRunning {
			// Paused, failed or cancelled: no more replacements.
			r.left[tg.Name] = 0
			continue
		}
		inflight := 0
		for _, a := range allocs {
			if a.TaskGroup == tg.Name && a.DeploymentID == d.ID && !a.TerminalStatus() &&
				(a.DeploymentStatus == nil || a.DeploymentStatus.Healthy == nil || !*a.DeploymentStatus.Healthy) {
				inflight++
			}
		}
		r.left[tg.Name] = max(tg.Update.MaxParallel-inflight, 0)
	}
	return r, nil
}

// take reports whether another destructive update of the group may start
// now, and counts it.
func (r *rollout) take(tg *structs.TaskGroup) bool {
	if r == nil {
		return true
	}
	n, limited := r.left[tg.Name]
	if !limited {
		return true
	}
	if n <= 0 {
		return false
	}
	r.left[tg.Name] = n - 1
	return true
}

// tag puts the plan's new and updated allocations of the job's current
// version in the deployment. An allocation that changes deployment has
// its health judged afresh.
func (r *rollout) tag(plan *structs.Plan) {
	if r == nil || !r.d.Active() {
		return
	}
	for _, allocs := range plan.NodeAllocation {
		for _, a := range allocs {
			if a.JobID != r.d.JobID || a.Namespace != r.d.Namespace || a.DeploymentID == r.d.ID {
				continue
			}
			if a.Job != nil && a.Job.Version != r.d.JobVersion {
				continue
			}
			a.DeploymentID = r.d.ID
			a.DeploymentStatus = nil
			if a.PreviousAllocation == "" && r.canaryNames[a.Name] {
				a.DeploymentStatus = &structs.AllocDeploymentStatus{Canary: true}
			}
		}
	}
}

// isCanary reports whether a is a live canary of the deployment.
func (r *rollout) isCanary(a *structs.Allocation) bool {
	return a.DeploymentID == r.d.ID && !a.TerminalStatus() && a.DeploymentStatus != nil && a.DeploymentStatus.Canary
}

// canaryPhase reports whether the group's canaries still wait for
// promotion.
func (r *rollout) canaryPhase(tg *structs.TaskGroup) bool {
	s := r.d.TaskGroups[tg.Name]
	return s != nil && s.DesiredCanaries > 0 && !s.Promoted && r.d.Active()
}

// destructiveOutdated lists the group's live allocations of an older
// version that need replacing, by index.
func (r *rollout) destructiveOutdated(tg *structs.TaskGroup, allocs []*structs.Allocation) []*structs.Allocation {
	rec := &reconciler{job: r.job}
	var out []*structs.Allocation
	for _, a := range allocs {
		if a.TaskGroup == tg.Name && !a.TerminalStatus() && a.DesiredStatus == structs.AllocDesiredStatusRun &&
			a.Job != nil && rec.outdated(a) && rec.destructive(tg, a) {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index() < out[j].Index() })
	return out
}

// filter returns the allocations the reconciler should see. Canaries that
// wait for promotion are hidden (they are extra to the count), and so are
// the old allocations promoted canaries take over, which prune stops.
func (r *rollout) filter(allocs []*structs.Allocation) (visible, taken []*structs.Allocation) {
	if r == nil {
		return allocs, nil
	}
	hide := map[string]bool{}
	for _, tg := range r.job.TaskGroups {
		s := r.d.TaskGroups[tg.Name]
		if s == nil || s.DesiredCanaries == 0 {
			continue
		}
		if r.canaryPhase(tg) {
			for _, a := range allocs {
				if a.TaskGroup == tg.Name && r.isCanary(a) {
					hide[a.ID] = true
				}
			}
			continue
		}
		// Promoted: each canary takes over the old allocation of its name.
		old := map[string]*structs.Allocation{}
		for _, a := range r.destructiveOutdated(tg, allocs) {
			old[a.Name] = a
		}
		for _, a := range allocs {
			if a.TaskGroup != tg.Name || !r.isCanary(a) {
				continue
			}
			if o := old[a.Name]; o != nil && !hide[o.ID] {
				hide[o.ID] = true
				taken = append(taken, o)
			}
		}
	}
	for _, a := range allocs {
		if !hide[a.ID] {
			visible = append(visible, a)
		}
	}
	return visible, taken
}

// canaries returns the canary placements a group in its canary phase
// still needs: one per missing canary, named after the old allocations
// they would replace, and stops nothing. Groups in the canary phase get no
// destructive updates.
func (r *rollout) canaries(allocs []*structs.Allocation) []placeRequest {
	if r == nil {
		return nil
	}
	var out []placeRequest
	for _, tg := range r.job.TaskGroups {
		if !r.canaryPhase(tg) {
			continue
		}
		r.left[tg.Name] = 0
		outdated := r.destructiveOutdated(tg, allocs)
		if len(outdated) == 0 {
			continue
		}
		have := map[string]bool{}
		for _, a := range allocs {
			if a.TaskGroup == tg.Name && r.isCanary(a) {
				have[a.Name] = true
			}
		}
		want := r.d.TaskGroups[tg.Name].DesiredCanaries - len(have)
		for _, o := range outdated {
			if want <= 0 {
				break
			}
			if have[o.Name] {
				continue
			}
			r.canaryNames[o.Name] = true
			out = append(out, placeRequest{tg: tg, name: o.Name})
			want--
		}
	}
	return out
}

// systemRollout limits a system job's destructive updates to max_parallel
// per evaluation; the rest wait for a follow-up evaluation after stagger.
type systemRollout struct {
	left map[string]int
	// stagger is the longest stagger of the groups that had to wait.
	stagger  time.Duration
	deferred bool
}

// take reports whether another destructive update of the group may start
// in this evaluation.
func (r *systemRollout) take(tg *structs.TaskGroup) bool {
	u := tg.Update
	if u == nil || u.MaxParallel <= 0 {
		return true
	}
	if r.left == nil {
		r.left = map[string]int{}
	}
	n, seen := r.left[tg.Name]
	if !seen {
		n = u.MaxParallel
	}
	if n <= 0 {
		r.deferred = true
		r.stagger = max(r.stagger, u.Stagger)
		return false
	}
	r.left[tg.Name] = n - 1
	return true
}

// followup is the evaluation that continues a deferred rollout.
func (r *systemRollout) followup(eval *structs.Evaluation, now time.Time) *structs.Evaluation {
	if !r.deferred {
		return nil
	}
	return &structs.Evaluation{
		ID: structs.GenerateUUID(), Namespace: eval.Namespace, Priority: eval.Priority, Type: eval.Type,
		TriggeredBy: structs.EvalTriggerRollingUpdate, JobID: eval.JobID, Status: structs.EvalStatusPending,
		PreviousEval: eval.ID, WaitUntil: now.Add(r.stagger), CreateTime: now.UnixNano(), ModifyTime: now.UnixNano(),
	}
}
