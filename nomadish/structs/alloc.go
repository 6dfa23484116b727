package structs

// The msgpack codec of the allocation and the types it holds is generated
// into alloc_codec.generated.go, since every placement is encoded several
// times (Raft log, RPCs, snapshots) and the reflection codec was most of
// that cost. Run `make codecgen` after changing a type of this file;
// TestAllocationCodecMatchesReflection fails until then.

import "time"

// Desired statuses of an allocation, set by servers.
const (
	AllocDesiredStatusRun   = "run"
	AllocDesiredStatusStop  = "stop"
	AllocDesiredStatusEvict = "evict"
)

// Client statuses of an allocation, set by the client.
const (
	AllocClientStatusPending  = "pending"
	AllocClientStatusRunning  = "running"
	AllocClientStatusComplete = "complete"
	AllocClientStatusFailed   = "failed"
	AllocClientStatusLost     = "lost"
	AllocClientStatusUnknown  = "unknown"
)

// Allocation is one placement of a task group on a node.
type Allocation struct {
	ID                 string
	Namespace          string
	EvalID             string
	Name               string
	NodeID             string
	NodeName           string
	JobID              string
	Job                *Job
	TaskGroup          string
	AllocatedResources *AllocatedResources
	Metrics            *AllocMetric
	DesiredStatus      string
	DesiredDescription string
	DesiredTransition  DesiredTransition
	ClientStatus       string
	ClientDescription  string
	TaskStates         map[string]*TaskState
	DeploymentID       string
	DeploymentStatus   *AllocDeploymentStatus
	RescheduleTracker  *RescheduleTracker
	NetworkStatus      *AllocNetworkStatus
	FollowupEvalID     string
	PreviousAllocation string
	NextAllocation     string
	CreateIndex        uint64
	ModifyIndex        uint64
	AllocModifyIndex   uint64
	CreateTime         int64
	ModifyTime         int64
}

// AllocClientStatus is what a client reports about one of its
// allocations: the fields the servers take from a report. Servers decode
// a client's Node.UpdateAlloc request into these (AllocReportRequest):
// the client sends whole allocations, and the decoder skips the fields a
// report does not have.
type AllocClientStatus struct {
	ID                string
	ClientStatus      string
	ClientDescription string
	TaskStates        map[string]*TaskState
	DeploymentStatus  *AllocDeploymentStatus
	NetworkStatus     *AllocNetworkStatus
	ModifyTime        int64
}

// ClientStatusesOf is the reports clients' copies of allocations make.
func ClientStatusesOf(allocs []*Allocation) []AllocClientStatus {
	out := make([]AllocClientStatus, len(allocs))
	for i, a := range allocs {
		out[i] = ClientStatusOf(a)
	}
	return out
}

// ClientStatusOf is the report a client's copy of an allocation makes.
func ClientStatusOf(a *Allocation) AllocClientStatus {
	return AllocClientStatus{
		ID:                a.ID,
		ClientStatus:      a.ClientStatus,
		ClientDescription: a.ClientDescription,
		TaskStates:        a.TaskStates,
		DeploymentStatus:  a.DeploymentStatus,
		NetworkStatus:     a.NetworkStatus,
		ModifyTime:        a.ModifyTime,
	}
}

// AllocNetworkStatus reports the alloc's network.
type AllocNetworkStatus struct {
	InterfaceName string
	Address       string
	DNS           *DNSConfig
}

// DesiredTransition asks the client or scheduler to move an alloc.
type DesiredTransition struct {
	Migrate         *bool
	Reschedule      *bool
	ForceReschedule *bool
	NoShutdownDelay *bool
}

// AllocDeploymentStatus is the alloc's health within a deployment.
type AllocDeploymentStatus struct {
	Healthy     *bool
	Timestamp   time.Time
	Canary      bool
	ModifyIndex uint64
}

// RescheduleTracker records earlier reschedules.
type RescheduleTracker struct {
	Events []*RescheduleEvent
}

// RescheduleEvent is one reschedule.
type RescheduleEvent struct {
	RescheduleTime int64
	PrevAllocID    string
	PrevNodeID     string
	Delay          time.Duration
}

// TerminalStatus reports whether the allocation is done, by either side.
func (a *Allocation) TerminalStatus() bool {
	switch a.DesiredStatus {
	case AllocDesiredStatusStop, AllocDesiredStatusEvict:
		return true
	}
	return a.ClientTerminalStatus()
}

// ClientTerminalStatus reports whether the client has finished the allocation.
func (a *Allocation) ClientTerminalStatus() bool {
	switch a.ClientStatus {
	case AllocClientStatusComplete, AllocClientStatusFailed, AllocClientStatusLost:
		return true
	}
	return false
}

// Copy returns a copy that may be mutated without touching the original's
// maps of task states.
func (a *Allocation) Copy() *Allocation {
	c := *a
	if a.TaskStates != nil {
		c.TaskStates = make(map[string]*TaskState, len(a.TaskStates))
		for k, v := range a.TaskStates {
			c.TaskStates[k] = v
		}
	}
	return &c
}

// Index returns the index in the alloc name "job.group[N]".
func (a *Allocation) Index() int {
	n := a.Name
	l := len(n)
	if l == 0 || n[l-1] != ']' {
		return -1
	}
	i := l - 2
	for i >= 0 && n[i] != '[' {
		i--
	}
	v := 0
	for _, ch := range n[i+1 : l-1] {
		if ch < '0' || ch > '9' {
			return -1
		}
		v = v*10 + int(ch-'0')
	}
	return v
}

// AllocName builds "job.group[index]".
func AllocName(job, group string, idx int) string {
	return job + "." + group + "[" + itoa(idx) + "]"
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	p := len(b)
	neg := i < 0
	if neg {
		i = -i
	}
	for i > 0 {
		p--
		b[p] = byte('0' + i%10)
		i /= 10
	}
	if neg {
		p--
		b[p] = '-'
	}
	return string(b[p:])
}

// AllocatedResources are what the scheduler granted.
type AllocatedResources struct {
	Tasks  map[string]*AllocatedTaskResources
	Shared AllocatedSharedResources
}

// AllocatedTaskResources are one task's grant.
type AllocatedTaskResources struct {
	Cpu      AllocatedCpuResources
	Memory   AllocatedMemoryResources
	Networks []*NetworkResource
}

// AllocatedCpuResources of a task.
type AllocatedCpuResources struct {
	CpuShares     int64
	ReservedCores []uint16
}

// AllocatedMemoryResources of a task.
type AllocatedMemoryResources struct {
	MemoryMB    int64
	MemoryMaxMB int64
}

// AllocatedSharedResources are the group's shared grant.
type AllocatedSharedResources struct {
	DiskMB   int64
	Networks []*NetworkResource
	Ports    []AllocatedPortMapping
}

// AllocatedPortMapping maps a label to a host port.
type AllocatedPortMapping struct {
	Label  string
	Value  int
	To     int
	HostIP string
}

// Comparable sums the allocation's CPU and memory.
func (a *AllocatedResources) Comparable() (cpu, mem int64) {
	if a == nil {
		return 0, 0
	}
	for _, t := range a.Tasks {
		cpu += t.Cpu.CpuShares
		mem += t.Memory.MemoryMB
	}
	return cpu, mem
}

// Task states.
const (
	TaskStatePending = "pending"
	TaskStateRunning = "running"
	TaskStateDead    = "dead"
)

// TaskState is a task's state on the client.
type TaskState struct {
	State       string
	Failed      bool
	Restarts    uint64
	LastRestart time.Time
	StartedAt   time.Time
	FinishedAt  time.Time
	Events      []*TaskEvent
}

// Successful reports whether the task finished without failing.
func (ts *TaskState) Successful() bool {
	return ts.State == TaskStateDead && !ts.Failed
}

// Task event types, as Nomad names them.
const (
	TaskReceived         = "Received"
	TaskSetup            = "Task Setup"
	TaskStarted          = "Started"
	TaskTerminated       = "Terminated"
	TaskKilling          = "Killing"
	TaskKilled           = "Killed"
	TaskRestarting       = "Restarting"
	TaskNotRestarting    = "Not Restarting"
	TaskDriverFailure    = "Driver Failure"
	TaskFailedValidation = "Failed Validation"
	TaskSetupFailure     = "Setup Failure"
	TaskSiblingFailed    = "Sibling Task Failed"
	TaskLeaderDead       = "Leader Task Dead"
	TaskRestartSignal    = "Restart Signaled"
	TaskSignaling        = "Signaling"
	TaskDriverMessage    = "Driver"
	TaskOOMKilled        = "OOM Killed"
)

// TaskEvent is one entry in a task's history.
type TaskEvent struct {
	Type           string
	Time           int64
	Message        string
	DisplayMessage string
	Details        map[string]string
	FailsTask      bool
	ExitCode       int
	Signal         int
	KillTimeout    time.Duration
	KillError      string
	StartDelay     int64
	DriverError    string
	DriverMessage  string
	RestartReason  string
}

// NewTaskEvent makes an event of the given type, stamped now.
func NewTaskEvent(typ string) *TaskEvent {
	return &TaskEvent{Type: typ, Time: time.Now().UnixNano(), Details: map[string]string{}}
}

// AllocMetric explains a placement: how many nodes were looked at and why
// the others were not chosen.
type AllocMetric struct {
	NodesEvaluated     int
	NodesFiltered      int
	NodesInPool        int
	NodesAvailable     map[string]int
	ClassFiltered      map[string]int
	ConstraintFiltered map[string]int
	NodesExhausted     int
	ClassExhausted     map[string]int
	DimensionExhausted map[string]int
	QuotaExhausted     []string
	ResourcesExhausted map[string]*Resources
	ScoreMetaData      []*NodeScoreMeta
	AllocationTime     time.Duration
	CoalescedFailures  int
}

// The scores a placement records in NodeScoreMeta.Scores.
const (
	ScoreBinpack          = "binpack"
	ScoreJobAntiAffinity  = "job-anti-affinity"
	ScoreNodeAffinity     = "node-affinity"
	ScoreAllocationSpread = "allocation-spread"
)

// NodeScoreMeta is one node's scores.
type NodeScoreMeta struct {
	NodeID    string
	Scores    map[string]float64
	NormScore float64
}

// AllocListStub is the list view of an allocation.
type AllocListStub struct {
	ID                 string
	EvalID             string
	Name               string
	Namespace          string
	NodeID             string
	NodeName           string
	JobID              string
	JobType            string
	JobVersion         uint64
	TaskGroup          string
	DesiredStatus      string
	DesiredDescription string
	ClientStatus       string
	ClientDescription  string
	TaskStates         map[string]*TaskState
	DeploymentStatus   *AllocDeploymentStatus
	FollowupEvalID     string
	RescheduleTracker  *RescheduleTracker
	PreviousAllocation string
	NextAllocation     string
	CreateIndex        uint64
	ModifyIndex        uint64
	CreateTime         int64
	ModifyTime         int64
}

// Stub returns the list view.
func (a *Allocation) Stub() *AllocListStub {
	s := &AllocListStub{
		ID:                 a.ID,
		EvalID:             a.EvalID,
		Name:               a.Name,
		Namespace:          a.Namespace,
		NodeID:             a.NodeID,
		NodeName:           a.NodeName,
		JobID:              a.JobID,
		TaskGroup:          a.TaskGroup,
		DesiredStatus:      a.DesiredStatus,
		DesiredDescription: a.DesiredDescription,
		ClientStatus:       a.ClientStatus,
		ClientDescription:  a.ClientDescription,
		TaskStates:         a.TaskStates,
		DeploymentStatus:   a.DeploymentStatus,
		FollowupEvalID:     a.FollowupEvalID,
		RescheduleTracker:  a.RescheduleTracker,
		PreviousAllocation: a.PreviousAllocation,
		NextAllocation:     a.NextAllocation,
		CreateIndex:        a.CreateIndex,
		ModifyIndex:        a.ModifyIndex,
		CreateTime:         a.CreateTime,
		ModifyTime:         a.ModifyTime,
	}
	if a.Job != nil {
		s.JobType = a.Job.Type
		s.JobVersion = a.Job.Version
	}
	return s
}
