package structs

import "time"

// MessageType tags each Raft log entry. The list is append-only: values are
// stored in logs and snapshots. An entry with IgnoreUnknownTypeFlag set may be
// skipped by an FSM that does not know its type.
type MessageType uint8

// Raft log message types. Append only.
const (
	NodeRegisterRequestType MessageType = iota
	NodeDeregisterRequestType
	NodeUpdateStatusRequestType
	NodeUpdateDrainRequestType
	JobRegisterRequestType
	JobDeregisterRequestType
	EvalUpdateRequestType
	EvalDeleteRequestType
	AllocUpdateRequestType
	AllocClientUpdateRequestType
	ApplyPlanResultsRequestType
	NodeUpdateEligibilityRequestType
	JobBatchDeregisterRequestType
	AllocUpdateDesiredTransitionRequestType
	SchedulerConfigRequestType
)

// Message types are grouped in blocks, each feature appending in its own
// block so that parallel work cannot reuse a number:
//
//	0–19   core (above)
//	20–39  job lifecycle: deployments, versions, periodic, dispatch, scaling, garbage collection
//	40–59  services: registrations and health
//	60–79  operator and scheduler configuration
//	100–119 client operations: alloc stop, node drain
//	127     framing: a compressed entry (CompressedMessageType)

// Operator and scheduler configuration messages (block 60–79).
const (
	// SchedulerConfigSetRequestType stores a SchedulerSetConfigRequest.
	SchedulerConfigSetRequestType MessageType = 60
)

// CompressedMessageType frames a large entry: the byte after it is the
// message's own type (flags included), and the rest is an S2 block of the
// message's encoding.
const CompressedMessageType MessageType = 127

// IgnoreUnknownTypeFlag marks a message an older FSM may skip.
const IgnoreUnknownTypeFlag MessageType = 128

// QueryOptions are the common read parameters.
type QueryOptions struct {
	Region    string
	Namespace string
	// MinQueryIndex blocks the query until the index passes this value.
	MinQueryIndex uint64
	// MaxQueryTime bounds a blocking query.
	MaxQueryTime time.Duration
	// AllowStale lets any server answer from its own state.
	AllowStale bool
	// Prefix filters IDs.
	Prefix string
}

// QueryMeta is returned with every read.
type QueryMeta struct {
	Index       uint64
	LastContact time.Duration
	KnownLeader bool
}

// WriteRequest are the common write parameters.
type WriteRequest struct {
	Region    string
	Namespace string
}

// WriteMeta is returned with every write.
type WriteMeta struct {
	Index uint64
}

// JobRegisterRequest registers or updates a job.
type JobRegisterRequest struct {
	Job *Job
	// EnforceIndex makes the register conditional on JobModifyIndex.
	EnforceIndex   bool
	JobModifyIndex uint64
	// Eval is created by the leader with the job, in the same log entry.
	Eval *Evaluation
	WriteRequest
}

// JobRegisterResponse answers a register.
type JobRegisterResponse struct {
	EvalID          string
	EvalCreateIndex uint64
	JobModifyIndex  uint64
	Warnings        string
	WriteMeta
}

// JobDeregisterRequest stops (and maybe purges) a job.
type JobDeregisterRequest struct {
	JobID string
	Purge bool
	Eval  *Evaluation
	WriteRequest
}

// JobDeregisterResponse answers a deregister.
type JobDeregisterResponse struct {
	EvalID          string
	EvalCreateIndex uint64
	JobModifyIndex  uint64
	WriteMeta
}

// NodeRegisterRequest registers or refreshes a node.
type NodeRegisterRequest struct {
	Node *Node
	WriteRequest
}

// NodeUpdateResponse answers node writes and heartbeats.
type NodeUpdateResponse struct {
	// HeartbeatTTL is how long until the node must heartbeat again.
	HeartbeatTTL time.Duration
	// EvalIDs created by the update.
	EvalIDs []string
	// Servers are the RPC addresses of known servers.
	Servers []string
	// LeaderRPCAddr is the leader's RPC address.
	LeaderRPCAddr string
	WriteMeta
}

// NodeUpdateStatusRequest changes a node's status; also the heartbeat.
type NodeUpdateStatusRequest struct {
	NodeID string
	Status string
	// Evals created for the node's jobs when its status changes.
	Evals     []*Evaluation
	UpdatedAt int64
	WriteRequest
}

// NodeSpecificRequest reads something of one node.
type NodeSpecificRequest struct {
	NodeID   string
	SecretID string
	QueryOptions
}

// NodeClientAllocsResponse lists a node's allocations by modify index, so a
// client fetches only what changed.
type NodeClientAllocsResponse struct {
	Allocs map[string]uint64
	QueryMeta
}

// AllocsGetRequest reads several allocations.
type AllocsGetRequest struct {
	AllocIDs []string
	QueryOptions
}

// AllocsGetResponse answers AllocsGetRequest.
type AllocsGetResponse struct {
	Allocs []*Allocation
	QueryMeta
}

// AllocUpdateRequest carries client status updates (and, from the plan
// applier, whole allocations).
type AllocUpdateRequest struct {
	Alloc []*Allocation
	// Evals created because allocations failed or finished.
	Evals []*Evaluation
	WriteRequest
}

// AllocReportRequest is how servers decode a client's AllocUpdateRequest
// (Node.UpdateAlloc): the same encoding, each allocation taken as the
// report it makes. A report is what the store keeps of an update, so the
// rest of each allocation is skipped by the decoder rather than built and
// dropped: a server decodes one report per allocation a client starts or
// stops.
type AllocReportRequest struct {
	Alloc []AllocClientStatus
	Evals []*Evaluation
	WriteRequest
}

// GenericResponse answers writes with nothing to say.
type GenericResponse struct {
	WriteMeta
}

// EvalUpdateRequest upserts evaluations.
type EvalUpdateRequest struct {
	Evals []*Evaluation
	WriteRequest
}

// ApplyPlanResultsRequest commits a plan's result.
type ApplyPlanResultsRequest struct {
	// Allocs to upsert: placements and in-place updates; they run Job.
	Allocs []*Allocation
	// AllocsStopped are existing allocations to stop or evict; they keep
	// the job version they ran.
	AllocsStopped []*Allocation
	// Job to attach to placements (denormalised on the way in).
	Job *Job
	// EvalID of the plan.
	EvalID string
	// Evals created alongside (for example blocked evals).
	Evals []*Evaluation
	WriteRequest
}

// PlanRequest submits a plan to the leader.
type PlanRequest struct {
	Plan *Plan
	WriteRequest
}

// PlanResponse returns the plan's result.
type PlanResponse struct {
	Result *PlanResult
	WriteMeta
}

// RPC method names served by every server. Clients and forwarding servers
// call them by these names.
const (
	MethodNodeRegister        = "Node.Register"
	MethodNodeUpdateStatus    = "Node.UpdateStatus"
	MethodNodeGetClientAllocs = "Node.GetClientAllocs"
	MethodNodeUpdateAlloc     = "Node.UpdateAlloc"
	MethodAllocGetAllocs      = "Alloc.GetAllocs"
)

// TimeToBlock is how long a blocking query may wait; RPC callers add it to
// their timeout.
func (q *QueryOptions) TimeToBlock() time.Duration {
	if q.MinQueryIndex == 0 {
		return 0
	}
	if q.MaxQueryTime <= 0 {
		return 5 * time.Minute
	}
	return q.MaxQueryTime + q.MaxQueryTime/16
}

// EvalDequeueRequest asks the leader's broker for an evaluation.
type EvalDequeueRequest struct {
	Schedulers []string
	// Timeout bounds how long the broker waits for one.
	Timeout time.Duration
	WriteRequest
}

// EvalDequeueResponse carries an evaluation and its ack token (nil Eval
// when none was ready in time).
type EvalDequeueResponse struct {
	Eval  *Evaluation
	Token string
	WriteMeta
}

// EvalAckRequest acks or nacks an evaluation.
type EvalAckRequest struct {
	EvalID string
	Token  string
	WriteRequest
}
