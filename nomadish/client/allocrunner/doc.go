// Package allocrunner runs one allocation on the client: it builds the
// allocation directory, runs one task runner per task through the task's
// driver plugin, orders the tasks by lifecycle (prestart, main, poststart,
// poststop), applies the restart policy, and reports task states and the
// allocation's client status.
//
// Ownership: the client creates an AllocRunner, runs Run in a goroutine it
// owns, and stops it either by Kill (tasks are stopped, Run returns when they
// are dead) or by cancelling Run's context (Run returns promptly and tasks
// keep running, to be recovered from the state store after a restart).
package allocrunner

import (
	"context"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// Drivers hands out driver plugins by name. Task runners call it from their
// own goroutines, every time they start or re-attach to a task. It may block while a plugin
// launches and must honour ctx.
type Drivers interface {
	Driver(ctx context.Context, name string) (drivers.DriverPlugin, error)
}

// DriverInvalidator is optionally implemented by Drivers: task runners call
// Invalidate when a plugin stops answering, so the next Driver call loads a
// new plugin instead of returning the dead one.
type DriverInvalidator interface {
	Invalidate(name string, p drivers.DriverPlugin)
}

// StateDB persists allocations and tasks. *state.Store implements it.
type StateDB interface {
	PutAlloc(a *structs.Allocation) error
	PutTask(allocID, task string, ts *structs.TaskState, handle *drivers.TaskHandle, clearHandle bool) error
	Task(allocID, task string) (*structs.TaskState, *drivers.TaskHandle, error)
}
