package server

import (
	"sync"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// BlockedEvals holds evaluations that could not place everything, one per
// job, until capacity changes; then it hands them back to the broker.
type BlockedEvals struct {
	broker *EvalBroker

	mu       sync.Mutex
	enabled  bool
	captured map[structs.NamespacedID]*structs.Evaluation
}

// NewBlockedEvals returns a disabled tracker feeding broker.
func NewBlockedEvals(broker *EvalBroker) *BlockedEvals {
	return &BlockedEvals{broker: broker, captured: map[structs.NamespacedID]*structs.Evaluation{}}
}

// SetEnabled turns the tracker on or off, dropping what it holds.
func (b *BlockedEvals) SetEnabled(on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.enabled = on
	b.captured = map[structs.NamespacedID]*structs.Evaluation{}
}

// Block captures a blocked evaluation; a newer one for the same job
// replaces an older one.
func (b *BlockedEvals) Block(e *structs.Evaluation) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.enabled {
		return
	}
	job := structs.NamespacedID{ID: e.JobID, Namespace: e.Namespace}
	if old, ok := b.captured[job]; ok && old.CreateIndex > e.CreateIndex {
		return
	}
	b.captured[job] = e
}

// UnblockAll hands every captured evaluation back to the broker.
func (b *BlockedEvals) UnblockAll() {
	b.mu.Lock()
	if !b.enabled || len(b.captured) == 0 {
		b.mu.Unlock()
		return
	}
	evals := make([]*structs.Evaluation, 0, len(b.captured))
	for _, e := range b.captured {
		evals = append(evals, e)
	}
	b.captured = map[structs.NamespacedID]*structs.Evaluation{}
	b.mu.Unlock()
	for _, e := range evals {
		b.broker.Enqueue(e)
	}
}

// Untrack forgets a job's blocked evaluation (the job was stopped or a
// newer evaluation replaced it).
func (b *BlockedEvals) Untrack(job structs.NamespacedID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.captured, job)
}

// Len is how many evaluations are blocked.
func (b *BlockedEvals) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.captured)
}
