package drivers

import "context"

// WaitChannel is the channel a driver's WaitTask returns: it yields the
// task's result once done is closed, and closes without a value when gone
// is closed (the task was destroyed or the driver let go of it) or ctx
// ends. result is called only after done is closed.
func WaitChannel(ctx context.Context, done, gone <-chan struct{}, result func() *ExitResult) <-chan *ExitResult {
	ch := make(chan *ExitResult, 1)
	go func() {
		defer close(ch)
		select {
		case <-done:
			ch <- result()
		case <-gone:
		case <-ctx.Done():
		}
	}()
	return ch
}
