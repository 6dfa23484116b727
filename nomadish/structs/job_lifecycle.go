package structs

import (
	"fmt"
	"time"

	"github.com/gorhill/cronexpr"
)

// Raft message types of the job lifecycle block (20–39).
const (
	// PeriodicLaunchRequestType registers a periodic job's child and
	// records the launch in one log entry.
	PeriodicLaunchRequestType MessageType = 20
)

// DispatchPayloadSizeLimit is the largest dispatch payload, as in Nomad.
const DispatchPayloadSizeLimit = 16 * 1024

// Child job ID infixes: "<parent>/periodic-<unix>" and
// "<parent>/dispatch-<unix>-<rand>".
const (
	PeriodicLaunchSuffix = "/periodic-"
	DispatchLaunchSuffix = "/dispatch-"
)

// PeriodicLaunch records the last time a periodic job was launched, so a
// new leader knows where the schedule stands.
type PeriodicLaunch struct {
	ID        string
	Namespace string
	// Launch is the scheduled time of the last launch.
	Launch      time.Time
	CreateIndex uint64
	ModifyIndex uint64
}

// PeriodicLaunchRequest is the log entry of one periodic launch.
type PeriodicLaunchRequest struct {
	// Child is the derived job; nil when the launch was skipped
	// (prohibit_overlap) and only the launch time moves on.
	Child  *Job
	Eval   *Evaluation
	Launch *PeriodicLaunch
	WriteRequest
}

// Location returns the time zone of the periodic config.
func (p *PeriodicConfig) Location() (*time.Location, error) {
	if p.TimeZone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("invalid time zone %q: %w", p.TimeZone, err)
	}
	return loc, nil
}

// Validate checks the cron expressions and the time zone.
func (p *PeriodicConfig) Validate() error {
	if p.SpecType != "" && p.SpecType != "cron" {
		return fmt.Errorf("periodic: unknown spec type %q", p.SpecType)
	}
	if _, err := p.Location(); err != nil {
		return fmt.Errorf("periodic: %w", err)
	}
	specs := p.allSpecs()
	if len(specs) == 0 {
		return fmt.Errorf("periodic: a cron spec is required")
	}
	for _, s := range specs {
		if _, err := cronexpr.Parse(s); err != nil {
			return fmt.Errorf("periodic: invalid cron spec %q: %v", s, err)
		}
	}
	return nil
}

func (p *PeriodicConfig) allSpecs() []string {
	var out []string
	if p.Spec != "" {
		out = append(out, p.Spec)
	}
	return append(out, p.Specs...)
}

// Next returns the first launch time strictly after from over all the
// config's specs, in the config's time zone; zero when there is none.
func (p *PeriodicConfig) Next(from time.Time) time.Time {
	loc, err := p.Location()
	if err != nil {
		return time.Time{}
	}
	from = from.In(loc)
	var next time.Time
	for _, s := range p.allSpecs() {
		expr, err := cronexpr.Parse(s)
		if err != nil {
			continue
		}
		t := expr.Next(from)
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next
}

// PeriodicForceRequest launches a periodic job now.
type PeriodicForceRequest struct {
	JobID string
	WriteRequest
}

// PeriodicForceResponse answers a forced launch.
type PeriodicForceResponse struct {
	EvalID          string
	EvalCreateIndex uint64
	WriteMeta
}

// JobDispatchRequest dispatches a parameterized job.
type JobDispatchRequest struct {
	JobID            string
	Payload          []byte
	Meta             map[string]string
	IdempotencyToken string
	// IdPrefixTemplate goes between "dispatch-" and the time in the
	// child's ID.
	IdPrefixTemplate string
	// Priority, when set, overrides the parent's priority.
	Priority int
	WriteRequest
}

// JobDispatchResponse answers a dispatch, with Nomad's field names.
type JobDispatchResponse struct {
	DispatchedJobID string
	EvalID          string
	EvalCreateIndex uint64
	JobCreateIndex  uint64
	WriteMeta
}

// JobScaleRequest changes a group's count.
type JobScaleRequest struct {
	JobID string
	// Target names the group: {"Group": name}.
	Target map[string]string
	// Count is the new count; nil records a scaling event only.
	Count          *int64
	Message        string
	Error          bool
	Meta           map[string]interface{}
	PolicyOverride bool
	// EnforceIndex and JobModifyIndex make the change conditional.
	EnforceIndex   bool
	JobModifyIndex uint64
	WriteRequest
}

// JobRevertRequest registers an earlier version of a job again.
type JobRevertRequest struct {
	JobID      string
	JobVersion uint64
	// EnforcePriorVersion, when set, requires the current version to be it.
	EnforcePriorVersion *uint64
	WriteRequest
}

// JobEvaluateRequest asks for a new evaluation of a job.
type JobEvaluateRequest struct {
	JobID string
	// ForceReschedule marks the job's failed allocations for rescheduling
	// now, even when their reschedule policy would wait or give up.
	ForceReschedule bool
	WriteRequest
}

// JobScaleStatusResponse answers GET /v1/job/:id/scale.
type JobScaleStatusResponse struct {
	JobScaleStatus *JobScaleStatus
	QueryMeta
}

// JobScaleStatus is a job's counts per group.
type JobScaleStatus struct {
	JobID          string
	Namespace      string
	JobCreateIndex uint64
	JobModifyIndex uint64
	JobStopped     bool
	TaskGroups     map[string]*TaskGroupScaleStatus
}

// TaskGroupScaleStatus is one group's desired and actual counts.
type TaskGroupScaleStatus struct {
	Desired   int
	Placed    int
	Running   int
	Healthy   int
	Unhealthy int
	Events    []interface{}
}

// JobPlanRequest asks what registering a job would do, without doing it.
type JobPlanRequest struct {
	Job *Job
	// Diff asks for the difference from the registered job.
	Diff           bool
	PolicyOverride bool
	WriteRequest
}

// JobPlanResponse is Nomad's plan answer.
type JobPlanResponse struct {
	Annotations *PlanAnnotations
	// FailedTGAllocs are the groups that could not be placed.
	FailedTGAllocs map[string]*AllocMetric
	// JobModifyIndex is the index to pass to `job run -check-index`.
	JobModifyIndex uint64
	CreatedEvals   []*Evaluation
	Diff           *JobDiff
	// NextPeriodicLaunch of a periodic job.
	NextPeriodicLaunch time.Time
	Warnings           string
	WriteMeta
}

// PlanAnnotations counts what the scheduler would do per group.
type PlanAnnotations struct {
	DesiredTGUpdates map[string]*DesiredUpdates
	PreemptedAllocs  []*AllocListStub
}

// DesiredUpdates counts the scheduler's decisions for one group.
type DesiredUpdates struct {
	Ignore            uint64
	Place             uint64
	Migrate           uint64
	Stop              uint64
	InPlaceUpdate     uint64
	DestructiveUpdate uint64
	Canary            uint64
	Preemptions       uint64
}
