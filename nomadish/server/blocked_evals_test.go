package server

import (
	"context"
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestBlockedEvals_StaleEvalIsRetried(t *testing.T) {
	b := NewEvalBroker(time.Minute, 3)
	b.SetEnabled(true)
	blocked := NewBlockedEvals(b)
	blocked.SetEnabled(true)

	// A worker holds the eval while capacity changes at index 100.
	ev := &structs.Evaluation{ID: structs.GenerateUUID(), JobID: "j", Namespace: "default", Type: "service", Priority: 50, Status: structs.EvalStatusPending}
	b.Enqueue(ev)
	got, token, err := b.Dequeue(context.Background(), []string{"service"})
	if err != nil || got.ID != ev.ID {
		t.Fatalf("Dequeue() = %v, %v", got, err)
	}
	blocked.UnblockAll(100)

	// It could not place and blocks, planned against index 50: it missed
	// the change, so once the worker acks it, it must come back.
	stale := ev.Copy()
	stale.Status, stale.SnapshotIndex = structs.EvalStatusBlocked, 50
	blocked.Block(stale)
	if err := b.Ack(ev.ID, token); err != nil {
		t.Fatalf("Ack() error = %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	again, _, err := b.Dequeue(ctx, []string{"service"})
	if err != nil || again.ID != ev.ID {
		t.Fatalf("stale blocked eval was not retried: %v, %v", again, err)
	}
	if blocked.Len() != 0 {
		t.Errorf("Len() = %d, want 0 once retried", blocked.Len())
	}

	// A blocked eval planned after the change waits for the next one.
	fresh := &structs.Evaluation{ID: structs.GenerateUUID(), JobID: "k", Namespace: "default", Type: "service", Status: structs.EvalStatusBlocked, SnapshotIndex: 150}
	blocked.Block(fresh)
	time.Sleep(3 * staleRetryDelay)
	if blocked.Len() != 1 || b.Outstanding(fresh.ID) {
		t.Errorf("fresh blocked eval: captured %d, in broker %v; want captured only", blocked.Len(), b.Outstanding(fresh.ID))
	}
	blocked.UnblockAll(200)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	if e, _, err := b.Dequeue(ctx2, []string{"service"}); err != nil || e.ID != fresh.ID {
		t.Errorf("UnblockAll did not release the blocked eval: %v, %v", e, err)
	}
}
