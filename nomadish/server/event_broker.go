package server

import (
	"context"
	"errors"
	"sync"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// DefaultEventBufferSize is how many Raft indexes of events a server keeps
// for subscribers that resume from an index, as Nomad's event_buffer_size
// defaults. Each index's batch holds copies of what it changed, so a large
// buffer costs memory in proportion to the cluster's write rate.
const DefaultEventBufferSize = 100

// ErrEventIndexGone is returned when a subscriber asks to resume from an
// index older than the buffer holds.
var ErrEventIndexGone = errors.New("requested index is older than the event buffer")

// EventBroker keeps the most recent batches of state-change events, one
// batch per Raft index, and lets subscribers follow them. The FSM
// publishes from the Raft apply goroutine; subscribers never block it. A
// batch may be published as a function that builds its events, run once
// when a subscriber first reads the batch: with nobody subscribed, the
// apply goroutine does not build events nobody reads.
type EventBroker struct {
	mu     sync.Mutex
	size   int
	buf    []*eventBatch // ring, oldest first once full
	start  int
	notify chan struct{}
}

// eventBatch is one index's events, built on first read.
type eventBatch struct {
	index  uint64
	once   sync.Once
	build  func() []structs.Event
	events *structs.Events
}

func (b *eventBatch) get() *structs.Events {
	b.once.Do(func() {
		events := b.build()
		for i := range events {
			events[i].Index = b.index
		}
		b.events = &structs.Events{Index: b.index, Events: events}
		b.build = nil
	})
	return b.events
}

// NewEventBroker returns an empty broker keeping size batches; zero or
// less takes DefaultEventBufferSize.
func NewEventBroker(size int) *EventBroker {
	if size <= 0 {
		size = DefaultEventBufferSize
	}
	return &EventBroker{size: size, notify: make(chan struct{})}
}

// Publish adds the events of one Raft index.
func (b *EventBroker) Publish(index uint64, events []structs.Event) {
	if len(events) == 0 {
		return
	}
	b.PublishLazy(index, func() []structs.Event { return events })
}

// PublishLazy adds the events of one Raft index as the function that
// builds them. build must give the same events whenever it runs: it may
// read only what the index left, such as the stored objects it wrote,
// which are never changed in place.
func (b *EventBroker) PublishLazy(index uint64, build func() []structs.Event) {
	batch := &eventBatch{index: index, build: build}
	b.mu.Lock()
	if len(b.buf) < b.size {
		b.buf = append(b.buf, batch)
	} else {
		b.buf[b.start] = batch
		b.start = (b.start + 1) % b.size
	}
	close(b.notify)
	b.notify = make(chan struct{})
	b.mu.Unlock()
}

// Next returns the first batch with events after index, waiting for one
// if needed.
func (b *EventBroker) Next(ctx context.Context, after uint64) (*structs.Events, error) {
	for {
		b.mu.Lock()
		n := len(b.buf)
		var next *eventBatch
		oldest := uint64(0)
		if n > 0 {
			oldest = b.buf[b.start%n].index
		}
		for i := 0; i < n; i++ {
			if e := b.buf[(b.start+i)%n]; e.index > after {
				next = e
				break
			}
		}
		ch := b.notify
		full := n == b.size
		b.mu.Unlock()
		if next != nil {
			if after > 0 && full && after+1 < oldest {
				return nil, ErrEventIndexGone
			}
			// Built outside the lock: a lazy batch may take a while.
			if got := next.get(); len(got.Events) > 0 {
				return got, nil
			}
			after = next.index // a batch without events: look past it
			continue
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ch:
		}
	}
}

// Events is the server's event broker.
func (s *Server) Events() *EventBroker { return s.events }

// publishEvents turns what one log entry changed into events, reading the
// stored objects so the payloads carry their indexes. build runs now.
func (f *fsm) publishEvents(index uint64, build func() []structs.Event) {
	if f.events == nil {
		return
	}
	f.events.Publish(index, build())
}

// publishEventsLazy is publishEvents for a build that reads only the
// stored objects it was given, never the state: it runs when a subscriber
// first reads the index, if ever.
func (f *fsm) publishEventsLazy(index uint64, build func() []structs.Event) {
	if f.events == nil {
		return
	}
	f.events.PublishLazy(index, build)
}

func jobEvent(typ string, j *structs.Job) structs.Event {
	return structs.Event{Topic: structs.TopicJob, Type: typ, Key: j.ID, Namespace: j.Namespace,
		Payload: map[string]interface{}{"Job": j}}
}

func allocEvent(typ string, a *structs.Allocation) structs.Event {
	// Stored allocations are never changed in place: a shallow copy
	// without the job is enough.
	stub := *a
	stub.Job = nil
	return structs.Event{Topic: structs.TopicAllocation, Type: typ, Key: a.ID, Namespace: a.Namespace,
		FilterKeys: []string{a.JobID, a.DeploymentID}, Payload: map[string]interface{}{"Allocation": &stub}}
}

func evalEvent(e *structs.Evaluation) structs.Event {
	return structs.Event{Topic: structs.TopicEvaluation, Type: "EvaluationUpdated", Key: e.ID, Namespace: e.Namespace,
		FilterKeys: []string{e.JobID, e.DeploymentID}, Payload: map[string]interface{}{"Evaluation": e}}
}

func nodeEvent(typ string, n *structs.Node) structs.Event {
	return structs.Event{Topic: structs.TopicNode, Type: typ, Key: n.ID, Payload: map[string]interface{}{"Node": n}}
}

func deploymentEvent(typ string, d *structs.Deployment) structs.Event {
	return structs.Event{Topic: structs.TopicDeployment, Type: typ, Key: d.ID, Namespace: d.Namespace,
		FilterKeys: []string{d.JobID}, Payload: map[string]interface{}{"Deployment": d}}
}
