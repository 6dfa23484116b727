package allocrunner

import "github.com/nomadish/nomadish/nomadish/structs"

// SetupEvent records a "Task Setup" event with msg on every task of the
// allocation, for something the client sets up for the allocation as a
// whole outside the runner (its upstream listeners). It may be called
// from any goroutine.
func (ar *AllocRunner) SetupEvent(msg string) {
	ar.mu.Lock()
	names := append([]string(nil), ar.order...)
	ar.mu.Unlock()
	for _, n := range names {
		ar.appendEvent(n, event(structs.TaskSetup, msg))
	}
}
