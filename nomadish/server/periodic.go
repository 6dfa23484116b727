package server

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// periodicMaxSleep bounds how long the periodic loop sleeps without looking
// at the jobs again (a restored snapshot replaces the state store without
// waking watchers).
const periodicMaxSleep = 5 * time.Second

// periodicMaxCatchUp bounds the walk over missed launch times.
const periodicMaxCatchUp = 100000

func init() {
	registerApply(structs.PeriodicLaunchRequestType, (*fsm).applyPeriodicLaunch)
}

func (f *fsm) applyPeriodicLaunch(index uint64, buf []byte) interface{} {
	var req structs.PeriodicLaunchRequest
	if err := decodeMsg(buf, &req); err != nil {
		return err
	}
	if err := f.State().ApplyPeriodicLaunch(index, &req); err != nil {
		return err
	}
	if req.Eval != nil {
		f.evalsCommitted([]*structs.Evaluation{req.Eval})
	}
	return nil
}

// periodicDue decides a periodic job's launch. The schedule runs from the
// later of the last recorded launch and the submission of the job's
// current version. due is the launch to make now (zero when none is due):
// after missed launches (no leader, or a leader that was down) only the
// latest missed one is made. next is the launch after due, or the next
// one when nothing is due.
func periodicDue(job *structs.Job, launch *structs.PeriodicLaunch, now time.Time) (due, next time.Time) {
	last := time.Unix(0, job.SubmitTime)
	if launch != nil && launch.Launch.After(last) {
		last = launch.Launch
	}
	t := job.Periodic.Next(last)
	if t.IsZero() || t.After(now) {
		return time.Time{}, t
	}
	for i := 0; i < periodicMaxCatchUp; i++ {
		n := job.Periodic.Next(t)
		if n.IsZero() || n.After(now) {
			return t, n
		}
		t = n
	}
	return t, job.Periodic.Next(t)
}

// runPeriodic is the leader's periodic launcher: it launches the children
// of periodic jobs when their schedule says so, until ctx ends. Launch
// times are committed through Raft, so a new leader carries on where the
// old one stopped.
func (s *Server) runPeriodic(ctx context.Context) {
	logger := s.logger.Named("periodic")
	for {
		ws := memdb.NewWatchSet()
		st := s.State()
		jobs, err := st.Jobs(ws, "*", "")
		if err != nil {
			logger.Error("list jobs", "error", err)
		}
		now := timeNow()
		wake := now.Add(periodicMaxSleep)
		for _, j := range jobs {
			if !j.IsPeriodic() || j.Stop || j.ParentID != "" {
				continue
			}
			launch, err := st.PeriodicLaunchByID(nil, j.Namespace, j.ID)
			if err != nil {
				logger.Error("read periodic launch", "job_id", j.ID, "error", err)
				continue
			}
			due, next := periodicDue(j, launch, now)
			if !due.IsZero() {
				if _, _, err := s.launchPeriodic(j, due, false); err != nil {
					logger.Error("launch periodic job", "job_id", j.ID, "launch", due, "error", err)
					next = now.Add(time.Second)
				}
			}
			if !next.IsZero() && next.Before(wake) {
				wake = next
			}
		}
		if ctx.Err() != nil {
			return
		}
		wctx, cancel := context.WithDeadline(ctx, wake)
		_ = ws.WatchCtx(wctx)
		cancel()
		// Job statuses change with every allocation update: let a burst
		// of them land before the next pass.
		select {
		case <-ctx.Done():
			return
		case <-time.After(deploymentWatchCoalesce):
		}
	}
}

// periodicChildID names the child launched at t.
func periodicChildID(parentID string, t time.Time) string {
	return parentID + structs.PeriodicLaunchSuffix + strconv.FormatInt(t.Unix(), 10)
}

// deriveChild makes the job a periodic or parameterized job launches.
func deriveChild(parent *structs.Job, id string) *structs.Job {
	c := *parent
	c.ID, c.Name, c.ParentID = id, id, parent.ID
	c.Periodic = nil
	c.Stop = false
	c.Status, c.StatusDescription = "", ""
	c.Stable = false
	c.Version, c.SubmitTime = 0, 0
	c.CreateIndex, c.ModifyIndex, c.JobModifyIndex = 0, 0, 0
	return &c
}

// childEval is the evaluation that schedules a new child job.
func childEval(child *structs.Job, trigger string) *structs.Evaluation {
	now := timeNow().UnixNano()
	return &structs.Evaluation{
		ID:          structs.GenerateUUID(),
		Namespace:   child.Namespace,
		Priority:    child.Priority,
		Type:        child.Type,
		TriggeredBy: trigger,
		JobID:       child.ID,
		Status:      structs.EvalStatusPending,
		CreateTime:  now,
		ModifyTime:  now,
	}
}

// launchPeriodic launches parent's child for time at and records the
// launch. The loop skips a child that already exists (a launch the old
// leader made just before it stopped) and, with prohibit_overlap, a launch
// while an earlier child still runs; a forced launch does neither. It
// returns the child's evaluation (nil when nothing was launched) and the
// Raft index.
func (s *Server) launchPeriodic(parent *structs.Job, at time.Time, force bool) (*structs.Evaluation, uint64, error) {
	st := s.State()
	id := periodicChildID(parent.ID, at)
	req := &structs.PeriodicLaunchRequest{
		Launch:       &structs.PeriodicLaunch{ID: parent.ID, Namespace: parent.Namespace, Launch: at},
		WriteRequest: structs.WriteRequest{Namespace: parent.Namespace},
	}
	if prev, err := st.PeriodicLaunchByID(nil, parent.Namespace, parent.ID); err == nil && prev != nil && prev.Launch.After(at) {
		req.Launch = nil
	}
	launch := true
	if !force {
		existing, err := st.JobByID(nil, parent.Namespace, id)
		if err != nil {
			return nil, 0, err
		}
		if existing != nil {
			launch = false
		} else if parent.Periodic.ProhibitOverlap {
			children, err := st.ChildrenSummary(nil, parent.Namespace, parent.ID)
			if err != nil {
				return nil, 0, err
			}
			if children.Pending+children.Running > 0 {
				s.logger.Named("periodic").Info("skipping launch: an earlier child still runs and the job prohibits overlap",
					"job_id", parent.ID, "launch", at)
				launch = false
			}
		}
	}
	if launch {
		req.Child = deriveChild(parent, id)
		req.Child.SubmitTime = timeNow().UnixNano()
		req.Eval = childEval(req.Child, structs.EvalTriggerPeriodicJob)
	}
	if req.Child == nil && req.Launch == nil {
		return nil, 0, nil
	}
	index, err := s.raftApply(structs.PeriodicLaunchRequestType, req)
	if err != nil {
		return nil, 0, err
	}
	return req.Eval, index, nil
}

// PeriodicForce launches a periodic job's child now, whatever its schedule.
func (e *JobEndpoint) PeriodicForce(args *structs.PeriodicForceRequest, reply *structs.PeriodicForceResponse) error {
	if done, err := e.srv.forward("Job.PeriodicForce", false, args, reply); done {
		return err
	}
	ns := namespaceOf(args.Namespace)
	job, err := e.srv.State().JobByID(nil, ns, args.JobID)
	if err != nil {
		return err
	}
	if job == nil {
		return NewCodedError(404, fmt.Sprintf("job %q not found", args.JobID))
	}
	if !job.IsPeriodic() {
		return NewCodedError(400, "can't force launch non-periodic job")
	}
	if job.Stop {
		return NewCodedError(400, "can't force launch a stopped job")
	}
	eval, index, err := e.srv.launchPeriodic(job, timeNow(), true)
	if err != nil {
		return err
	}
	if eval != nil {
		reply.EvalID = eval.ID
		reply.EvalCreateIndex = index
	}
	reply.Index = index
	return nil
}

// validateLifecycle checks what the job's own validation leaves to the
// lifecycle code: the cron specs and time zone of a periodic job.
func validateLifecycle(job *structs.Job) error {
	if job.Periodic != nil && job.Periodic.Enabled {
		return job.Periodic.Validate()
	}
	return nil
}
