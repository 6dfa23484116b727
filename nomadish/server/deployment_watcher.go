package server

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/state"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// deploymentWatchMaxSleep bounds the watcher's sleep, so progress
// deadlines are noticed without any state change.
const deploymentWatchMaxSleep = time.Second

// runDeploymentWatcher is the leader's deployment watcher: it moves the
// health the clients report for a deployment's allocations into the
// deployment, asks the scheduler to continue a rollout when allocations
// turn healthy, and ends deployments: successful (the version becomes
// stable) or failed (unhealthy allocations, progress deadline; with
// auto_revert the last stable version is registered again).
func (s *Server) runDeploymentWatcher(ctx context.Context) {
	logger := s.logger.Named("deployment_watcher")
	seen := map[string]*watchedDeployment{}
	budget, refilled := float64(deploymentWatchBudget), timeNow()
	for {
		ws := memdb.NewWatchSet()
		st := s.State()
		ds, err := st.Deployments(ws, "*", "")
		if err != nil {
			logger.Error("list deployments", "error", err)
		}
		st.MaxIndex(ws, "allocs", "jobs")
		now := timeNow()
		budget = min(budget+now.Sub(refilled).Seconds()*deploymentWatchBudget, deploymentWatchBudget)
		refilled = now
		running := map[string]bool{}
		var due []*structs.Deployment
		for _, d := range ds {
			if d.Status != structs.DeploymentStatusRunning {
				continue
			}
			running[d.ID] = true
			if w := seen[d.ID]; w != nil && w.current(d, now) {
				continue
			}
			due = append(due, d)
		}
		// Longest unstepped first, while the budget lasts.
		sort.SliceStable(due, func(i, j int) bool { return seen[due[i].ID].stepped().Before(seen[due[j].ID].stepped()) })
		for _, d := range due {
			if budget <= 0 {
				break
			}
			dws := memdb.NewWatchSet()
			n, err := s.watchDeployment(st, dws, d, now)
			if err != nil {
				logger.Error("update deployment", "deployment_id", d.ID, "error", err)
				delete(seen, d.ID)
				continue
			}
			seen[d.ID] = newWatchedDeployment(d, dws, n, now)
			budget -= float64(max(n, 1))
		}
		for id := range seen {
			if !running[id] {
				delete(seen, id)
			}
		}
		wctx, cancel := context.WithTimeout(ctx, deploymentWatchMaxSleep)
		_ = ws.WatchCtx(wctx)
		cancel()
		// Under load the allocs table changes many times a second and each
		// pass reads every allocation of every running deployment: let a
		// burst of changes land before the next pass.
		select {
		case <-ctx.Done():
			return
		case <-time.After(deploymentWatchCoalesce):
		}
	}
}

// watchedDeployment remembers what a deployment was last stepped against,
// so a pass skips deployments whose job and allocations did not change:
// with many deployments running, most passes are woken by other jobs.
type watchedDeployment struct {
	modifyIndex uint64
	at          time.Time
	// rest is how long changes to the allocations gather before the next
	// step: a step reads every allocation of the job, so a job with
	// thousands of them is stepped less often while its allocations keep
	// changing.
	rest time.Duration
	// chs close when the job or any of its allocations change.
	chs []<-chan struct{}
}

func newWatchedDeployment(d *structs.Deployment, ws memdb.WatchSet, allocs int, now time.Time) *watchedDeployment {
	w := &watchedDeployment{modifyIndex: d.ModifyIndex, at: now, rest: time.Duration(allocs) * deploymentWatchRestPerAlloc}
	for ch := range ws {
		w.chs = append(w.chs, ch)
	}
	return w
}

// current reports whether stepping d again now would see what the last
// step saw. Besides the deployment, its job and its allocations, only time
// moves a step, and only through a progress deadline: a deployment whose
// deadline passed is stepped again, at most once per the watcher's longest
// sleep. A deployment waiting on clients is otherwise left alone however
// long it runs, so a thousand large rollouts cost nothing while quiet.
func (w *watchedDeployment) current(d *structs.Deployment, now time.Time) bool {
	if d.ModifyIndex != w.modifyIndex {
		return false
	}
	if now.Sub(w.at) >= deploymentWatchMaxSleep && deadlinePassed(d, now) {
		return false
	}
	if now.Sub(w.at) < w.rest {
		return true
	}
	for _, ch := range w.chs {
		select {
		case <-ch:
			return false
		default:
		}
	}
	return true
}

// deadlinePassed reports whether a group of d has a progress deadline
// that now is past.
func deadlinePassed(d *structs.Deployment, now time.Time) bool {
	for _, g := range d.TaskGroups {
		if g.ProgressDeadline > 0 && !g.RequireProgressBy.IsZero() && now.After(g.RequireProgressBy) {
			return true
		}
	}
	return false
}

// deploymentWatchBudget bounds the allocations the watcher reads per
// second, over all deployments. A step reads every allocation of its job;
// with a thousand large jobs rolling out at once, stepping each as often
// as its allocations change would take a core. Past the budget,
// deployments wait their turn, longest unstepped first: a deployment of a
// small cluster is never held back, and at a million allocations a step
// comes every few seconds.
const deploymentWatchBudget = 250_000

// stepped is when the deployment was last stepped; zero if never.
func (w *watchedDeployment) stepped() time.Time {
	if w == nil {
		return time.Time{}
	}
	return w.at
}

// deploymentWatchRestPerAlloc sets a deployment's rest between steps from
// the size of its job: 500 ms for 1,000 allocations.
const deploymentWatchRestPerAlloc = 500 * time.Microsecond

// deploymentWatchCoalesce is the least time between two watcher passes.
const deploymentWatchCoalesce = 100 * time.Millisecond

// deploymentStep is what the watcher decides for one running deployment.
type deploymentStep struct {
	// next is the deployment with its counts and status brought up to date.
	next *structs.Deployment
	// changed reports whether next differs from the stored deployment.
	changed bool
	// continueRollout asks for an evaluation: more allocations turned healthy.
	continueRollout bool
}

// stepDeployment compares a running deployment with its job's allocations.
// It is pure: the caller commits the result.
func stepDeployment(d *structs.Deployment, job *structs.Job, allocs []*structs.Allocation, now time.Time) deploymentStep {
	c := d.Copy()
	step := deploymentStep{next: c}
	if job == nil || job.Stop {
		c.Status, c.StatusDescription = structs.DeploymentStatusCancelled, structs.DeploymentDescStoppedJob
		step.changed = true
		return step
	}
	if job.CreateIndex != d.JobCreateIndex || job.Version != d.JobVersion {
		c.Status, c.StatusDescription = structs.DeploymentStatusCancelled, structs.DeploymentDescNewerJob
		step.changed = true
		return step
	}
	done, unhealthy, late := true, false, false
	waiting, promote := false, true
	for name, g := range c.TaskGroups {
		placed, healthy, bad, outdated := 0, 0, 0, 0
		var canaries []string
		healthyCanaries := 0
		for _, a := range allocs {
			if a.TaskGroup != name {
				continue
			}
			if a.DeploymentID != d.ID {
				if !a.TerminalStatus() && a.Job != nil && a.Job.Version != d.JobVersion {
					outdated++
				}
				continue
			}
			placed++
			ds := a.DeploymentStatus
			canary := ds != nil && ds.Canary
			if canary {
				canaries = append(canaries, a.ID)
			}
			if ds != nil && ds.Healthy != nil {
				if *ds.Healthy {
					healthy++
					if canary {
						healthyCanaries++
					}
				} else {
					bad++
				}
			}
		}
		sort.Strings(canaries)
		if !slices.Equal(canaries, g.PlacedCanaries) {
			g.PlacedCanaries = canaries
			step.changed = true
		}
		if g.DesiredCanaries > 0 && !g.Promoted && (len(canaries) > 0 || outdated > 0) {
			// Waits for promotion: never done before it.
			waiting = true
			outdated++
			promote = promote && g.AutoPromote && healthyCanaries >= g.DesiredCanaries
		}
		if tg := job.LookupTaskGroup(name); tg != nil {
			g.DesiredTotal = tg.Count
		}
		if healthy > g.HealthyAllocs {
			step.continueRollout = true
			if g.ProgressDeadline > 0 {
				g.RequireProgressBy = now.Add(g.ProgressDeadline)
			}
		}
		if placed != g.PlacedAllocs || healthy != g.HealthyAllocs || bad != g.UnhealthyAllocs {
			step.changed = true
		}
		g.PlacedAllocs, g.HealthyAllocs, g.UnhealthyAllocs = placed, healthy, bad
		groupDone := healthy >= g.DesiredTotal && outdated == 0
		done = done && groupDone
		unhealthy = unhealthy || bad > 0
		late = late || (!groupDone && g.ProgressDeadline > 0 && !g.RequireProgressBy.IsZero() && now.After(g.RequireProgressBy))
	}
	switch {
	case unhealthy:
		c.Status, c.StatusDescription = structs.DeploymentStatusFailed, structs.DeploymentDescFailedAllocations
		step.changed, step.continueRollout = true, false
	case late:
		c.Status, c.StatusDescription = structs.DeploymentStatusFailed, structs.DeploymentDescProgressDeadline
		step.changed, step.continueRollout = true, false
	case done:
		c.Status, c.StatusDescription = structs.DeploymentStatusSuccessful, structs.DeploymentDescSuccessful
		step.changed, step.continueRollout = true, false
	case waiting && promote:
		for _, g := range c.TaskGroups {
			if g.DesiredCanaries > 0 {
				g.Promoted = true
			}
		}
		c.StatusDescription = structs.DeploymentDescRunning
		step.changed, step.continueRollout = true, true
	case waiting && c.StatusDescription != structs.DeploymentDescRunningNeedsPromos && canariesHealthy(c):
		c.StatusDescription = structs.DeploymentDescRunningNeedsPromos
		step.changed = true
	}
	return step
}

// canariesHealthy reports whether every group waiting for promotion has
// its canaries healthy.
func canariesHealthy(d *structs.Deployment) bool {
	for _, g := range d.TaskGroups {
		if g.DesiredCanaries > 0 && !g.Promoted && g.HealthyAllocs < g.DesiredCanaries {
			return false
		}
	}
	return true
}

func (s *Server) watchDeployment(st *state.StateStore, ws memdb.WatchSet, d *structs.Deployment, now time.Time) (int, error) {
	job, err := st.JobByID(ws, d.Namespace, d.JobID)
	if err != nil {
		return 0, err
	}
	var allocs []*structs.Allocation
	if job != nil {
		if allocs, err = st.AllocsByJob(ws, d.Namespace, d.JobID); err != nil {
			return 0, err
		}
	}
	return len(allocs), s.stepAndCommitDeployment(d, job, allocs, now)
}

// stepAndCommitDeployment steps a deployment and commits what changed.
func (s *Server) stepAndCommitDeployment(d *structs.Deployment, job *structs.Job, allocs []*structs.Allocation, now time.Time) error {
	step := stepDeployment(d, job, allocs, now)
	if !step.changed {
		return nil
	}
	switch step.next.Status {
	case structs.DeploymentStatusFailed:
		return s.finishDeployment(step.next, nil)
	case structs.DeploymentStatusSuccessful:
		v := d.JobVersion
		return s.updateDeployment(step.next, &v, false, nil)
	}
	return s.updateDeployment(step.next, nil, step.continueRollout, nil)
}
