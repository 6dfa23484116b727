package structs

// Raft message type of the core garbage collector, in the job lifecycle
// block (20–39).
const (
	// GCReapRequestType deletes the objects a garbage collection pass found
	// collectable, in one log entry.
	GCReapRequestType MessageType = 23
)

// GCReapRequest is the log entry of one garbage collection pass: the IDs
// of everything it deletes. The leader decides; every server applies the
// same deletions.
type GCReapRequest struct {
	// Jobs are deleted with every stored version and their periodic
	// launch record.
	Jobs        []GCJob
	Evals       []string
	Allocs      []string
	Deployments []string
	Nodes       []string
}

// GCJob names a job to delete. ModifyIndex is the job's index when the
// leader found it collectable: a job changed since (registered again) is
// kept.
type GCJob struct {
	Namespace   string
	ID          string
	ModifyIndex uint64
}

// Empty reports whether the request deletes nothing.
func (r *GCReapRequest) Empty() bool {
	return len(r.Jobs)+len(r.Evals)+len(r.Allocs)+len(r.Deployments)+len(r.Nodes) == 0
}

// Size is how many objects the request deletes.
func (r *GCReapRequest) Size() int {
	return len(r.Jobs) + len(r.Evals) + len(r.Allocs) + len(r.Deployments) + len(r.Nodes)
}

// GCResult counts what a garbage collection pass deleted, by kind.
type GCResult struct {
	Jobs        int
	Evals       int
	Allocs      int
	Deployments int
	Nodes       int
}

// SystemGCRequest asks the leader for a garbage collection now, regardless
// of the age thresholds (PUT /v1/system/gc).
type SystemGCRequest struct {
	WriteRequest
}

// SystemGCResponse answers a forced garbage collection.
type SystemGCResponse struct {
	// Collected counts what was deleted.
	Collected GCResult
	WriteMeta
}
