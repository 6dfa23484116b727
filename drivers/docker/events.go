package docker

import (
	"context"
	"sync"

	"github.com/nomadish/nomadish/drivers"
)

// broadcaster fans driver events out to subscribers. A slow subscriber
// loses events rather than blocking the driver.
type broadcaster struct {
	mu   sync.Mutex
	subs map[chan *drivers.TaskEvent]struct{}
}

func newBroadcaster() *broadcaster {
	return &broadcaster{subs: map[chan *drivers.TaskEvent]struct{}{}}
}

// subscribe returns a channel of events that is closed when ctx is done.
func (b *broadcaster) subscribe(ctx context.Context) <-chan *drivers.TaskEvent {
	in := make(chan *drivers.TaskEvent, 16)
	out := make(chan *drivers.TaskEvent)
	b.mu.Lock()
	b.subs[in] = struct{}{}
	b.mu.Unlock()
	go func() {
		defer close(out)
		defer func() {
			b.mu.Lock()
			delete(b.subs, in)
			b.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-in:
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

func (b *broadcaster) publish(ev *drivers.TaskEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}
