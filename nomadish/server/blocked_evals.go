package server

import (
	"sync"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// BlockedEvals holds evaluations that could not place everything, one per
// job, until capacity changes; then it hands them back to the broker.
type BlockedEvals struct {
	broker *EvalBroker

	mu       sync.Mutex
	enabled  bool
	captured map[structs.NamespacedID]*structs.Evaluation
	// unblockIndex is the Raft index of the last capacity change. An
	// evaluation planned against an older snapshot may have missed it, so
	// it is sent back to the broker instead of waiting for the next one.
	unblockIndex uint64
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
	if !b.enabled {
		b.mu.Unlock()
		return
	}
	defer b.mu.Unlock()
	if e.SnapshotIndex != 0 && e.SnapshotIndex < b.unblockIndex {
		// Captured all the same (its worker may still hold it), then
		// handed back once the broker has let go of it.
		defer b.retryStale(structs.NamespacedID{ID: e.JobID, Namespace: e.Namespace}, e.ID)
	}
	job := structs.NamespacedID{ID: e.JobID, Namespace: e.Namespace}
	if old, ok := b.captured[job]; ok && old.CreateIndex > e.CreateIndex {
		return
	}
	b.captured[job] = e
}

// UnblockAll hands every captured evaluation back to the broker after a
// capacity change at the given Raft index.
func (b *BlockedEvals) UnblockAll(index uint64) {
	b.mu.Lock()
	if index > b.unblockIndex {
		b.unblockIndex = index
	}
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

// staleRetryDelay is how often a stale blocked evaluation checks whether
// the broker has let go of it.
const staleRetryDelay = 50 * time.Millisecond

// retryStale sends a job's captured evaluation back to the broker as soon
// as the broker no longer holds it. Called with b.mu held.
func (b *BlockedEvals) retryStale(job structs.NamespacedID, evalID string) {
	time.AfterFunc(staleRetryDelay, func() {
		b.mu.Lock()
		e, ok := b.captured[job]
		if !ok || e.ID != evalID || !b.enabled {
			b.mu.Unlock()
			return
		}
		if b.broker.Outstanding(evalID) {
			b.retryStale(job, evalID)
			b.mu.Unlock()
			return
		}
		delete(b.captured, job)
		b.mu.Unlock()
		b.broker.Enqueue(e)
	})
}
