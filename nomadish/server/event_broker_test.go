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
