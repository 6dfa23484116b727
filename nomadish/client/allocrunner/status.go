package allocrunner

import "github.com/nomadish/nomadish/nomadish/structs"

// Client descriptions, as Nomad words them.
const (
	descPending  = "No tasks have started"
	descRunning  = "Tasks are running"
	descComplete = "All tasks have completed"
	descFailed   = "Failed tasks"
)

// clientStatus derives an allocation's client status from its task states:
// any failed task fails the allocation; otherwise any running task makes it
// running, any pending task pending, and all tasks dead complete.
func clientStatus(states map[string]*structs.TaskState) (status, desc string) {
	var pending, running, dead, failed bool
	for _, ts := range states {
		switch ts.State {
		case structs.TaskStateRunning:
			running = true
		case structs.TaskStatePending:
			pending = true
		case structs.TaskStateDead:
			if ts.Failed {
				failed = true
			} else {
				dead = true
			}
		}
	}
	switch {
	case failed:
		return structs.AllocClientStatusFailed, descFailed
	case running:
		return structs.AllocClientStatusRunning, descRunning
	case pending:
		return structs.AllocClientStatusPending, descPending
	case dead:
		return structs.AllocClientStatusComplete, descComplete
	}
	return structs.AllocClientStatusPending, descPending
}
