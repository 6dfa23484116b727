package scheduler

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// State is a read-only snapshot. Slices returned are owned by the caller but
// elements are shared and must not be mutated. Implementations must be safe
// to call from the worker goroutine and return the same answers for the
// same snapshot.
type State interface {
	// LatestIndex is the index the snapshot was taken at.
	LatestIndex() uint64
	// JobByID returns the job, or nil if absent.
	JobByID(namespace, id string) (*structs.Job, error)
	// Nodes returns all nodes.
	Nodes() ([]*structs.Node, error)
	// NodeByID returns the node, or nil if absent.
	NodeByID(id string) (*structs.Node, error)
	// AllocsByJob returns all allocations of a job, terminal ones included.
	AllocsByJob(namespace, jobID string) ([]*structs.Allocation, error)
	// AllocsByNode returns all allocations on a node, terminal ones included.
	AllocsByNode(nodeID string) ([]*structs.Allocation, error)
	// SchedulerConfig returns the operator's scheduler settings; nil means defaults.
	SchedulerConfig() *SchedulerConfiguration
}

// NodeUsageState is an optional ability of a State: the summed resources
// of a node's live (non-terminal) allocations, kept by the store as
// allocations change. With it the scheduler reads one row per visited node
// instead of adding up every allocation on it, which is what keeps
// placement fast on full nodes. The answer must agree with AllocsByNode of
// the same snapshot.
type NodeUsageState interface {
	NodeUsage(nodeID string) (structs.ComparableResources, error)
	// FillUsage sets used[i] to the usage of c.Nodes[i] (used is as long
	// as c.Nodes), for a catalogue of this state. An evaluation that will
	// visit most nodes reads them all this way.
	FillUsage(c *structs.NodeCatalog, used []structs.ComparableResources) error
}

// NodeCatalogState is an optional ability of a State: the nodes as an
// immutable catalogue the store shares between evaluations while the
// nodes do not change. It must list the nodes Nodes returns.
type NodeCatalogState interface {
	NodeCatalog() (*structs.NodeCatalog, error)
}

// Planner is the server side: it takes plans and evaluations. It is called
// from the worker goroutine only and may block on Raft.
type Planner interface {
	// SubmitPlan sends the plan to the leader's plan applier. If the result's
	// RefreshIndex != 0, newState is a snapshot at >= that index and the
	// scheduler must retry with it.
	SubmitPlan(plan *structs.Plan) (result *structs.PlanResult, newState State, err error)
	// UpdateEval records the eval's status, description, FailedTGAllocs,
	// QueuedAllocations and BlockedEval.
	UpdateEval(eval *structs.Evaluation) error
	// CreateEval creates follow-ups: blocked evals and delayed reschedule evals.
	CreateEval(eval *structs.Evaluation) error
	// ReblockEval puts a blocked eval that still cannot place back in the
	// blocked set.
	ReblockEval(eval *structs.Evaluation) error
}

// Scheduler processes one evaluation to completion.
type Scheduler interface {
	// Process plans for the eval, submits the plan, and updates the eval.
	Process(eval *structs.Evaluation) error
}

// Scheduler algorithms.
const (
	SchedulerAlgorithmBinpack = "binpack"
	SchedulerAlgorithmSpread  = "spread"
)

// SchedulerConfiguration is the operator's scheduler settings.
type SchedulerConfiguration struct {
	// SchedulerAlgorithm is "binpack" (default) or "spread".
	SchedulerAlgorithm string
	// PreemptionConfig says which job types may preempt lower priority work.
	PreemptionConfig PreemptionConfig
	// MemoryOversubscriptionEnabled allows MemoryMaxMB above MemoryMB.
	MemoryOversubscriptionEnabled bool
	// RejectJobRegistration is enforced by the server, not here.
	RejectJobRegistration bool
	// PauseEvalBroker is enforced by the server, not here.
	PauseEvalBroker bool
}

// PreemptionConfig enables preemption per scheduler type. A nil
// SchedulerConfiguration means Nomad's default: system jobs only.
type PreemptionConfig struct {
	SystemSchedulerEnabled   bool
	SysBatchSchedulerEnabled bool
	BatchSchedulerEnabled    bool
	ServiceSchedulerEnabled  bool
}

// EffectiveAlgorithm returns the algorithm to use, defaulting to binpack.
func (c *SchedulerConfiguration) EffectiveAlgorithm() string {
	if c == nil || c.SchedulerAlgorithm == "" {
		return SchedulerAlgorithmBinpack
	}
	return c.SchedulerAlgorithm
}

// ErrUnknownSchedulerType is returned by NewScheduler for an unknown job type.
var ErrUnknownSchedulerType = fmt.Errorf("unknown scheduler type")

// NewScheduler builds the scheduler for a job type: "service", "batch",
// "system", "sysbatch".
func NewScheduler(typ string, logger hclog.Logger, state State, planner Planner, now func() time.Time) (Scheduler, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	if now == nil {
		return nil, fmt.Errorf("new scheduler: nil clock")
	}
	switch typ {
	case structs.JobTypeService, structs.JobTypeBatch:
		return &genericScheduler{typ: typ, logger: logger.Named(typ), state: state, planner: planner, now: now}, nil
	case structs.JobTypeSystem, structs.JobTypeSysBatch:
		return &systemScheduler{typ: typ, logger: logger.Named(typ), state: state, planner: planner, now: now}, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownSchedulerType, typ)
}
