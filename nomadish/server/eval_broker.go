package server

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// failedQueue holds evaluations that reached the delivery limit; the
// leader's reaper dequeues from it.
const failedQueue = "_failed"

// failedEvalFollowupDelay is how long after a failed eval its follow-up runs.
const failedEvalFollowupDelay = time.Minute

// nackRequeueDelay delays an eval handed back by a worker.
const nackRequeueDelay = time.Second

var timeNow = time.Now

// ErrNotOutstanding is returned when acking an eval the broker did not hand out.
var ErrNotOutstanding = errors.New("evaluation is not outstanding")

// EvalBroker is the leader's queue of evaluations. It hands the most urgent
// ready evaluation to workers, keeps at most one evaluation per job in
// flight, re-delivers evaluations whose worker did not ack in time, and
// parks evaluations that failed too often in the failed queue.
type EvalBroker struct {
	nackTimeout   time.Duration
	deliveryLimit int

	mu       sync.Mutex
	enabled  bool
	attempts map[string]int
	inFlight map[structs.NamespacedID]string
	pending  map[structs.NamespacedID]*evalHeap
	ready    map[string]*evalHeap
	unack    map[string]*unackEval
	delayed  *delayHeap
	delayT   *time.Timer
	notify   chan struct{}
}

type unackEval struct {
	eval  *structs.Evaluation
	token string
	timer *time.Timer
}

// NewEvalBroker returns a disabled broker.
func NewEvalBroker(nackTimeout time.Duration, deliveryLimit int) *EvalBroker {
	b := &EvalBroker{nackTimeout: nackTimeout, deliveryLimit: deliveryLimit, notify: make(chan struct{})}
	b.reset()
	return b
}

func (b *EvalBroker) reset() {
	b.attempts = map[string]int{}
	b.inFlight = map[structs.NamespacedID]string{}
	b.pending = map[structs.NamespacedID]*evalHeap{}
	b.ready = map[string]*evalHeap{}
	for _, u := range b.unack {
		u.timer.Stop()
	}
	b.unack = map[string]*unackEval{}
	b.delayed = &delayHeap{}
	if b.delayT != nil {
		b.delayT.Stop()
		b.delayT = nil
	}
}

// SetEnabled turns the broker on (leader) or off, dropping all it holds.
func (b *EvalBroker) SetEnabled(on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.enabled = on
	b.reset()
	b.wakeLocked()
}

// Enabled reports whether the broker is on.
func (b *EvalBroker) Enabled() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.enabled
}

func (b *EvalBroker) wakeLocked() {
	close(b.notify)
	b.notify = make(chan struct{})
}

// Enqueue adds an evaluation. Evaluations already known are ignored;
// evaluations with a future WaitUntil wait in the delay heap.
func (b *EvalBroker) Enqueue(e *structs.Evaluation) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.enabled {
		return
	}
	if _, ok := b.attempts[e.ID]; ok {
		return
	}
	b.attempts[e.ID] = 0
	if !e.WaitUntil.IsZero() && e.WaitUntil.After(timeNow()) {
		heap.Push(b.delayed, e)
		b.armDelayLocked()
		return
	}
	b.enqueueLocked(e, e.Type)
}

func (b *EvalBroker) enqueueLocked(e *structs.Evaluation, queue string) {
	job := structs.NamespacedID{ID: e.JobID, Namespace: e.Namespace}
	if queue != failedQueue {
		switch cur := b.inFlight[job]; cur {
		case "":
			b.inFlight[job] = e.ID
		case e.ID:
		default:
			h := b.pending[job]
			if h == nil {
				h = &evalHeap{}
				b.pending[job] = h
			}
			heap.Push(h, e)
			return
		}
	}
	h := b.ready[queue]
	if h == nil {
		h = &evalHeap{}
		b.ready[queue] = h
	}
	heap.Push(h, e)
	b.wakeLocked()
}

func (b *EvalBroker) armDelayLocked() {
	if b.delayed.Len() == 0 {
		return
	}
	wait := time.Until((*b.delayed)[0].WaitUntil)
	if b.delayT != nil {
		b.delayT.Stop()
	}
	b.delayT = time.AfterFunc(wait, b.promoteDelayed)
}

func (b *EvalBroker) promoteDelayed() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.enabled {
		return
	}
	now := timeNow()
	for b.delayed.Len() > 0 && !(*b.delayed)[0].WaitUntil.After(now) {
		e := heap.Pop(b.delayed).(*structs.Evaluation)
		b.enqueueLocked(e, e.Type)
	}
	b.armDelayLocked()
}

// Dequeue blocks until an evaluation of one of the scheduler types is ready
// or ctx ends. The token must be passed to Ack or Nack.
func (b *EvalBroker) Dequeue(ctx context.Context, types []string) (*structs.Evaluation, string, error) {
	for {
		b.mu.Lock()
		if b.enabled {
			var best *evalHeap
			for _, t := range types {
				h := b.ready[t]
				if h == nil || h.Len() == 0 {
					continue
				}
				if best == nil || (*h)[0].Priority > (*best)[0].Priority {
					best = h
				}
			}
			if best != nil {
				e := heap.Pop(best).(*structs.Evaluation)
				token := structs.GenerateUUID()
				b.attempts[e.ID]++
				id := e.ID
				b.unack[id] = &unackEval{eval: e, token: token, timer: time.AfterFunc(b.nackTimeout, func() {
					_ = b.Nack(id, token)
				})}
				b.mu.Unlock()
				return e, token, nil
			}
		}
		ch := b.notify
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, "", ctx.Err()
		case <-ch:
		}
	}
}

// Ack finishes an evaluation and releases its job's next pending one.
func (b *EvalBroker) Ack(evalID, token string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.unack[evalID]
	if !ok || u.token != token {
		return ErrNotOutstanding
	}
	u.timer.Stop()
	delete(b.unack, evalID)
	delete(b.attempts, evalID)
	job := structs.NamespacedID{ID: u.eval.JobID, Namespace: u.eval.Namespace}
	if b.inFlight[job] == evalID {
		delete(b.inFlight, job)
		if h := b.pending[job]; h != nil && h.Len() > 0 {
			next := heap.Pop(h).(*structs.Evaluation)
			if h.Len() == 0 {
				delete(b.pending, job)
			}
			b.enqueueLocked(next, next.Type)
		}
	}
	return nil
}

// Nack hands an evaluation back: it is delivered again after a delay, or
// moved to the failed queue once it reached the delivery limit.
func (b *EvalBroker) Nack(evalID, token string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.unack[evalID]
	if !ok || u.token != token {
		return ErrNotOutstanding
	}
	u.timer.Stop()
	delete(b.unack, evalID)
	if b.attempts[evalID] >= b.deliveryLimit {
		b.enqueueLocked(u.eval, failedQueue)
		return nil
	}
	e := u.eval
	time.AfterFunc(nackRequeueDelay, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.enabled {
			if _, known := b.attempts[e.ID]; known {
				b.enqueueLocked(e, e.Type)
			}
		}
	})
	return nil
}

// Outstanding reports whether the broker still holds an evaluation
// (queued, delayed or handed to a worker and not yet acked).
func (b *EvalBroker) Outstanding(evalID string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.attempts[evalID]
	return ok
}

// BrokerStats counts the broker's evaluations.
type BrokerStats struct {
	TotalReady   int
	TotalUnacked int
	TotalPending int
	TotalDelayed int
}

// Stats returns counts for metrics and tests.
func (b *EvalBroker) Stats() BrokerStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	var s BrokerStats
	for _, h := range b.ready {
		s.TotalReady += h.Len()
	}
	for _, h := range b.pending {
		s.TotalPending += h.Len()
	}
	s.TotalUnacked = len(b.unack)
	s.TotalDelayed = b.delayed.Len()
	return s
}

// evalHeap orders evaluations by priority, then by age.
type evalHeap []*structs.Evaluation

func (h evalHeap) Len() int { return len(h) }
func (h evalHeap) Less(i, j int) bool {
	if h[i].Priority != h[j].Priority {
		return h[i].Priority > h[j].Priority
	}
	if h[i].CreateIndex != h[j].CreateIndex {
		return h[i].CreateIndex < h[j].CreateIndex
	}
	return h[i].CreateTime < h[j].CreateTime
}
func (h evalHeap) Swap(i, j int)       { h[i], h[j] = h[j], h[i] }
func (h *evalHeap) Push(x interface{}) { *h = append(*h, x.(*structs.Evaluation)) }
func (h *evalHeap) Pop() interface{} {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// delayHeap orders evaluations by WaitUntil.
type delayHeap []*structs.Evaluation

func (h delayHeap) Len() int            { return len(h) }
func (h delayHeap) Less(i, j int) bool  { return h[i].WaitUntil.Before(h[j].WaitUntil) }
func (h delayHeap) Swap(i, j int)       { h[i], h[j] = h[j], h[i] }
func (h *delayHeap) Push(x interface{}) { *h = append(*h, x.(*structs.Evaluation)) }
func (h *delayHeap) Pop() interface{} {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
