package structs

// JobSpecificRequest reads one job.
type JobSpecificRequest struct {
	JobID string
	// All includes terminal allocations or every version, depending on the call.
	All bool
	QueryOptions
}

// SingleJobResponse answers JobSpecificRequest.
type SingleJobResponse struct {
	Job *Job
	QueryMeta
}

// JobListRequest lists jobs.
type JobListRequest struct {
	QueryOptions
}

// JobListResponse answers JobListRequest.
type JobListResponse struct {
	Jobs []*JobListStub
	QueryMeta
}

// JobAllocationsResponse lists a job's allocations.
type JobAllocationsResponse struct {
	Allocations []*AllocListStub
	QueryMeta
}

// JobEvaluationsResponse lists a job's evaluations.
type JobEvaluationsResponse struct {
	Evaluations []*Evaluation
	QueryMeta
}

// JobSummaryResponse answers a job summary read.
type JobSummaryResponse struct {
	JobSummary *JobSummary
	QueryMeta
}

// JobVersionsResponse lists a job's versions, newest first.
type JobVersionsResponse struct {
	Versions []*Job
	QueryMeta
}

// AllocListRequest lists allocations.
type AllocListRequest struct {
	QueryOptions
}

// AllocListResponse answers AllocListRequest.
type AllocListResponse struct {
	Allocations []*AllocListStub
	QueryMeta
}

// AllocSpecificRequest reads one allocation.
type AllocSpecificRequest struct {
	AllocID string
	QueryOptions
}

// SingleAllocResponse answers AllocSpecificRequest.
type SingleAllocResponse struct {
	Alloc *Allocation
	QueryMeta
}

// EvalListRequest lists evaluations.
type EvalListRequest struct {
	QueryOptions
}

// EvalListResponse answers EvalListRequest.
type EvalListResponse struct {
	Evaluations []*Evaluation
	QueryMeta
}

// EvalSpecificRequest reads one evaluation.
type EvalSpecificRequest struct {
	EvalID string
	QueryOptions
}

// SingleEvalResponse answers EvalSpecificRequest.
type SingleEvalResponse struct {
	Eval *Evaluation
	QueryMeta
}

// EvalAllocationsResponse lists an evaluation's allocations.
type EvalAllocationsResponse struct {
	Allocations []*AllocListStub
	QueryMeta
}

// NodeListRequest lists nodes.
type NodeListRequest struct {
	QueryOptions
}

// NodeListResponse answers NodeListRequest.
type NodeListResponse struct {
	Nodes []*NodeListStub
	QueryMeta
}

// SingleNodeResponse answers a node read.
type SingleNodeResponse struct {
	Node *Node
	QueryMeta
}

// NodeAllocsResponse lists a node's allocations.
type NodeAllocsResponse struct {
	Allocs []*Allocation
	QueryMeta
}

// GenericRequest carries only query options.
type GenericRequest struct {
	QueryOptions
}

// StatusLeaderResponse is the leader's RPC address.
type StatusLeaderResponse struct {
	Leader string
}

// StatusPeersResponse lists the Raft peers' addresses.
type StatusPeersResponse struct {
	Peers []string
}

// EvalCountResponse counts evaluations.
type EvalCountResponse struct {
	Count int
	QueryMeta
}
