package structs

import "time"

// Deployment statuses, as Nomad names them.
const (
	DeploymentStatusRunning    = "running"
	DeploymentStatusPaused     = "paused"
	DeploymentStatusFailed     = "failed"
	DeploymentStatusSuccessful = "successful"
	DeploymentStatusCancelled  = "cancelled"
)

// Deployment status descriptions, as Nomad words them.
const (
	DeploymentDescRunning            = "Deployment is running"
	DeploymentDescPaused             = "Deployment is paused"
	DeploymentDescSuccessful         = "Deployment completed successfully"
	DeploymentDescNewerJob           = "Cancelled due to newer version of job"
	DeploymentDescStoppedJob         = "Cancelled because job is stopped"
	DeploymentDescFailedAllocations  = "Failed due to unhealthy allocations"
	DeploymentDescProgressDeadline   = "Failed due to progress deadline"
	DeploymentDescFailedByUser       = "Deployment marked as failed"
	DeploymentDescRollbackSuffix     = " - rolling back to job version %d"
	DeploymentDescNoRollbackTarget   = " - no stable job version to auto revert to"
	DeploymentDescRunningNeedsPromos = "Deployment is running but requires manual promotion"
)

// Raft message types of deployments.
const (
	// JobRegisterDeploymentRequestType registers a job version together
	// with the deployment that rolls it out.
	JobRegisterDeploymentRequestType MessageType = 21
	// DeploymentUpdateRequestType changes a deployment's progress or
	// status, with an optional evaluation and a job version to mark stable.
	DeploymentUpdateRequestType MessageType = 22
)

// Deployment tracks the rollout of one job version.
type Deployment struct {
	ID        string
	Namespace string
	JobID     string
	// JobVersion, JobModifyIndex and JobCreateIndex name the version rolled out.
	JobVersion         uint64
	JobModifyIndex     uint64
	JobSpecModifyIndex uint64
	JobCreateIndex     uint64
	IsMultiregion      bool
	// TaskGroups holds the progress of each group.
	TaskGroups        map[string]*DeploymentState
	Status            string
	StatusDescription string
	EvalPriority      int
	CreateIndex       uint64
	ModifyIndex       uint64
	CreateTime        int64
	ModifyTime        int64
}

// Active reports whether the deployment may still make progress.
func (d *Deployment) Active() bool {
	return d.Status == DeploymentStatusRunning || d.Status == DeploymentStatusPaused
}

// Copy returns a deep copy.
func (d *Deployment) Copy() *Deployment {
	c := *d
	c.TaskGroups = make(map[string]*DeploymentState, len(d.TaskGroups))
	for k, v := range d.TaskGroups {
		s := *v
		s.PlacedCanaries = append([]string(nil), v.PlacedCanaries...)
		c.TaskGroups[k] = &s
	}
	return &c
}

// DeploymentState is one group's progress in a deployment.
type DeploymentState struct {
	AutoRevert        bool
	AutoPromote       bool
	ProgressDeadline  time.Duration
	RequireProgressBy time.Time
	Promoted          bool
	PlacedCanaries    []string
	DesiredCanaries   int
	DesiredTotal      int
	PlacedAllocs      int
	HealthyAllocs     int
	UnhealthyAllocs   int
}

// NewDeployment makes the deployment of a job version: one state per group
// that has an update strategy with max_parallel above zero; nil when no
// group has one.
func NewDeployment(job *Job, now time.Time) *Deployment {
	if job.Type != JobTypeService || job.Stop || job.IsPeriodic() || job.IsParameterized() {
		return nil
	}
	d := &Deployment{
		ID: GenerateUUID(), Namespace: job.Namespace, JobID: job.ID,
		TaskGroups: map[string]*DeploymentState{}, Status: DeploymentStatusRunning,
		StatusDescription: DeploymentDescRunning, EvalPriority: job.Priority,
		CreateTime: now.UnixNano(), ModifyTime: now.UnixNano(),
	}
	for _, tg := range job.TaskGroups {
		u := tg.Update
		if u == nil || u.MaxParallel <= 0 {
			continue
		}
		s := &DeploymentState{
			AutoRevert: u.AutoRevert, AutoPromote: u.AutoPromote, ProgressDeadline: u.ProgressDeadline,
			DesiredCanaries: u.Canary, DesiredTotal: tg.Count,
		}
		if u.ProgressDeadline > 0 {
			s.RequireProgressBy = now.Add(u.ProgressDeadline)
		}
		d.TaskGroups[tg.Name] = s
	}
	if len(d.TaskGroups) == 0 {
		return nil
	}
	return d
}

// JobRegisterDeploymentRequest is the log entry of a job version and its
// deployment. The FSM fills the deployment's job fields from the stored
// job, and drops the deployment when the job's specification did not
// change.
type JobRegisterDeploymentRequest struct {
	JobRegisterRequest
	Deployment *Deployment
}

// DeploymentUpdateRequest is the log entry of a deployment change.
type DeploymentUpdateRequest struct {
	Deployment *Deployment
	// Eval is created with the change (to continue or undo a rollout).
	Eval *Evaluation
	// StableVersion, when set, marks that version of the deployment's job
	// stable.
	StableVersion *uint64
	WriteRequest
}

// DeploymentListRequest lists deployments.
type DeploymentListRequest struct {
	QueryOptions
}

// DeploymentListResponse answers DeploymentListRequest.
type DeploymentListResponse struct {
	Deployments []*Deployment
	QueryMeta
}

// DeploymentSpecificRequest reads one deployment.
type DeploymentSpecificRequest struct {
	DeploymentID string
	QueryOptions
}

// SingleDeploymentResponse answers DeploymentSpecificRequest.
type SingleDeploymentResponse struct {
	Deployment *Deployment
	QueryMeta
}

// DeploymentAllocationsResponse lists a deployment's allocations.
type DeploymentAllocationsResponse struct {
	Allocations []*AllocListStub
	QueryMeta
}

// DeploymentStatusRequest fails, pauses, resumes or promotes a deployment.
type DeploymentStatusRequest struct {
	DeploymentID string
	// Fail, Pause and Promote select the operation.
	Fail    bool
	Pause   *bool
	Promote bool
	// All and Groups say what to promote.
	All    bool
	Groups []string
	WriteRequest
}

// DeploymentUpdateResponse answers a deployment change, as Nomad's.
type DeploymentUpdateResponse struct {
	EvalID                string
	EvalCreateIndex       uint64
	DeploymentModifyIndex uint64
	RevertedJobVersion    *uint64
	WriteMeta
}

// Evaluation triggers of deployments, as Nomad names them.
const (
	EvalTriggerDeploymentWatcher = "deployment-watcher"
	EvalTriggerRollingUpdate     = "rolling-update"
)

// DeploymentAllocHealthRequest sets the health of a deployment's
// allocations by hand (health_check = "manual").
type DeploymentAllocHealthRequest struct {
	DeploymentID           string
	HealthyAllocationIDs   []string
	UnhealthyAllocationIDs []string
	WriteRequest
}
