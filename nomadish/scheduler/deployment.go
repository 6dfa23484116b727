package scheduler

import "github.com/nomadish/nomadish/nomadish/structs"

// DeploymentState is the optional part of State that knows deployments. A
// State without it gets no rolling-update limits.
type DeploymentState interface {
	// LatestDeployment returns the job's newest deployment, or nil.
	LatestDeployment(namespace, jobID string) (*structs.Deployment, error)
}

// rollout limits destructive updates to each group's max_parallel while
// the job's deployment runs, and tags the plan's allocations with it.
type rollout struct {
	d *structs.Deployment
	// left is how many more destructive updates each group may start.
	left map[string]int
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
	r := &rollout{d: d, left: map[string]int{}}
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
		}
	}
}
