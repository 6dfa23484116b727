package server

import (
	"sync"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// allocUpdateBatchWindow is how long the leader gathers client allocation
// updates into one Raft entry. Thousands of nodes each reporting their
// allocations would otherwise make thousands of log entries, each applied
// alone by the FSM.
const allocUpdateBatchWindow = 50 * time.Millisecond

// allocUpdateBatchMax bounds the allocations of one batch, and so the
// size of a Raft entry and the time the FSM spends on it. Status reports
// change no memdb index (allocations are in the state store's own tree),
// so a batch changes only a few rows there: memdb notifies watchers of a
// transaction cheaply only up to a few thousand changed tree nodes. In
// C1M, batches of 1,024 placed 18,500/s (two runs), batches of 256 a median
// of 15,700/s (four).
const allocUpdateBatchMax = 1024

// allocUpdateBatcher gathers Node.UpdateAlloc requests. The first request
// of a window arms a timer; when it fires, the timer's goroutine commits
// the whole batch and wakes every waiting caller. No goroutine outlives
// its batch.
type allocUpdateBatcher struct {
	mu      sync.Mutex
	pending *allocUpdateBatch
}

// allocUpdateBatch is one window's updates and their common outcome.
type allocUpdateBatch struct {
	// up is the batch's Raft entry: what the store takes from each
	// report, not the whole allocation each client sent — less than half
	// the bytes to encode, write to the log and decode again (1,024
	// reports, half with a task state: 275 KB instead of 669 KB before
	// compression).
	up    structs.AllocClientStatusUpdate
	done  chan struct{}
	index uint64
	err   error
	// sent is set, under the batcher's lock, by the one flush that
	// commits the batch: a full batch leaves before its timer fires.
	sent bool
}

// add queues reports and evals for the current window and waits until
// they are committed, returning the Raft index of the batch.
func (b *allocUpdateBatcher) add(s *Server, reports []structs.AllocClientStatus, evals []*structs.Evaluation) (uint64, error) {
	b.mu.Lock()
	batch := b.pending
	if batch == nil {
		batch = &allocUpdateBatch{done: make(chan struct{})}
		batch.up.Allocs = make([]structs.AllocClientStatus, 0, allocUpdateBatchMax)
		b.pending = batch
		time.AfterFunc(allocUpdateBatchWindow, func() { b.flush(s, batch) })
	}
	batch.up.Allocs = append(batch.up.Allocs, reports...)
	batch.up.Evals = append(batch.up.Evals, evals...)
	if len(batch.up.Allocs) >= allocUpdateBatchMax {
		// Full: later requests start the next batch; this one goes now.
		b.pending = nil
		go b.flush(s, batch)
	}
	b.mu.Unlock()
	<-batch.done
	return batch.index, batch.err
}

func (b *allocUpdateBatcher) flush(s *Server, batch *allocUpdateBatch) {
	b.mu.Lock()
	if b.pending == batch {
		b.pending = nil
	}
	if batch.sent {
		b.mu.Unlock()
		return
	}
	batch.sent = true
	b.mu.Unlock()
	batch.index, batch.err = s.raftApply(structs.AllocClientStatusRequestType, &batch.up)
	close(batch.done)
}
