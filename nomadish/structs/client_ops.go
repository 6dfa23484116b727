package structs

// Client operation messages (block 100–119).
const (
	// NodeDrainUpdateRequestType stores a NodeDrainUpdate.
	NodeDrainUpdateRequestType MessageType = 100
	// AllocTransitionRequestType stores an AllocTransitionUpdate.
	AllocTransitionRequestType MessageType = 101
	// AllocClientStatusRequestType stores an AllocClientStatusUpdate: what
	// clients report about their allocations, without the rest of each
	// allocation that AllocClientUpdateRequestType carries.
	AllocClientStatusRequestType MessageType = 102
)

// AllocClientStatusUpdate is the Raft entry for a batch of client
// reports, with the evaluations they caused.
type AllocClientStatusUpdate struct {
	Allocs []AllocClientStatus
	Evals  []*Evaluation
}

// NodeDrainUpdate is the Raft entry that starts, changes or ends a drain.
type NodeDrainUpdate struct {
	// NodeID is the node drained.
	NodeID string
	// DrainStrategy is the new drain; nil ends the drain.
	DrainStrategy *DrainStrategy
	// MarkEligible makes the node eligible again when the drain ends.
	MarkEligible bool
	// Event is recorded on the node.
	Event *NodeEvent
	// Evals are committed with the change.
	Evals []*Evaluation
}

// AllocTransitionUpdate is the Raft entry that sets desired transitions on
// allocations, with the evaluations that act on them.
type AllocTransitionUpdate struct {
	// Transitions maps allocation IDs to their new transition.
	Transitions map[string]*DesiredTransition
	// Evals are committed with the change.
	Evals []*Evaluation
}

// NodeUpdateDrainRequest starts or stops a drain (PUT /v1/node/:id/drain).
type NodeUpdateDrainRequest struct {
	// NodeID is the node to drain.
	NodeID string
	// DrainStrategy is the drain to start; nil stops a drain.
	DrainStrategy *DrainStrategy
	// MarkEligible makes the node eligible when a drain is stopped.
	MarkEligible bool
	// Meta is stored in the node event.
	Meta map[string]string
	WriteRequest
}

// NodeUpdateEligibilityRequest sets a node's scheduling eligibility.
type NodeUpdateEligibilityRequest struct {
	// NodeID is the node changed.
	NodeID string
	// Eligibility is "eligible" or "ineligible".
	Eligibility string
	WriteRequest
}

// NodeDrainUpdateResponse answers drain and eligibility updates, as Nomad's.
type NodeDrainUpdateResponse struct {
	// NodeModifyIndex is the index of the node change.
	NodeModifyIndex uint64
	// EvalIDs are evaluations created by the change.
	EvalIDs []string
	// EvalCreateIndex is the index they were created at.
	EvalCreateIndex uint64
	WriteMeta
}

// AllocStopRequest stops one allocation so that it is replaced.
type AllocStopRequest struct {
	// AllocID is the allocation stopped.
	AllocID string
	// NoShutdownDelay skips the tasks' shutdown_delay.
	NoShutdownDelay bool
	WriteRequest
}

// AllocStopResponse names the evaluation that replaces the allocation.
type AllocStopResponse struct {
	// EvalID is the evaluation created.
	EvalID string
	WriteMeta
}
