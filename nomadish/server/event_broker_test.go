package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestEventBrokerKeepsItsSize(t *testing.T) {
	b := NewEventBroker(3)
	for i := uint64(1); i <= 5; i++ {
		b.Publish(i*10, []structs.Event{{Topic: structs.TopicJob, Key: "j"}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	// Indexes 30, 40 and 50 are kept; resuming after 30 gives 40.
	got, err := b.Next(ctx, 30)
	if err != nil || got.Index != 40 {
		t.Fatalf("Next(after 30) = %+v, %v, want index 40", got, err)
	}
	// Resuming after 10 would miss 20, which is gone.
	if _, err := b.Next(ctx, 10); !errors.Is(err, ErrEventIndexGone) {
		t.Fatalf("Next(after 10) error = %v, want ErrEventIndexGone", err)
	}
	// From the start, the oldest kept batch.
	if got, err := b.Next(ctx, 0); err != nil || got.Index != 30 {
		t.Fatalf("Next(after 0) = %+v, %v, want index 30", got, err)
	}
	if d := NewEventBroker(0); d.size != DefaultEventBufferSize {
		t.Errorf("NewEventBroker(0) size = %d, want %d", d.size, DefaultEventBufferSize)
	}
}

// A lazily published batch is built on its first read, once, and a batch
// that builds no events is passed over.
func TestEventBrokerBuildsLazily(t *testing.T) {
	b := NewEventBroker(10)
	builds := 0
	b.PublishLazy(5, func() []structs.Event { builds++; return nil })
	b.PublishLazy(6, func() []structs.Event {
		builds++
		return []structs.Event{{Topic: structs.TopicAllocation, Key: "a"}}
	})
	if builds != 0 {
		t.Fatalf("%d batches built at publish; want none before a read", builds)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for i := 0; i < 2; i++ {
		got, err := b.Next(ctx, 0)
		if err != nil || got.Index != 6 || len(got.Events) != 1 || got.Events[0].Index != 6 {
			t.Fatalf("Next(after 0) = %+v, %v; want the event of index 6, past the empty batch", got, err)
		}
	}
	if builds != 2 {
		t.Fatalf("batches built %d times over two reads; want each built once (2)", builds)
	}
	// Nothing after 6 yet: Next waits.
	short, cancelShort := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelShort()
	if _, err := b.Next(short, 6); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next(after 6) = %v; want it to wait until its context ends", err)
	}
}
