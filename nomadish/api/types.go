package api

import "github.com/nomadish/nomadish/nomadish/structs"

// The HTTP API speaks the domain types directly; these aliases give them the
// names Nomad's api package uses.
type (
	// Job is a job as registered and returned by the servers.
	Job = structs.Job
	// TaskGroup is one group of a job.
	TaskGroup = structs.TaskGroup
	// Task is one task of a group.
	Task = structs.Task
	// JobListStub is the list view of a job.
	JobListStub = structs.JobListStub
	// JobSummary counts a job's allocations per group.
	JobSummary = structs.JobSummary
	// TaskGroupSummary counts one group's allocations.
	TaskGroupSummary = structs.TaskGroupSummary
	// JobChildrenSummary counts a template job's children.
	JobChildrenSummary = structs.JobChildrenSummary
	// Allocation is one placement of a group on a node.
	Allocation = structs.Allocation
	// AllocationListStub is the list view of an allocation.
	AllocationListStub = structs.AllocListStub
	// AllocationMetric explains a placement or a placement failure.
	AllocationMetric = structs.AllocMetric
	// TaskState is a task's state on its client.
	TaskState = structs.TaskState
	// TaskEvent is one entry of a task's history.
	TaskEvent = structs.TaskEvent
	// Evaluation is a request to reconcile a job.
	Evaluation = structs.Evaluation
	// Node is a client machine.
	Node = structs.Node
	// NodeListStub is the list view of a node.
	NodeListStub = structs.NodeListStub
	// NodeEvent is one entry of a node's history.
	NodeEvent = structs.NodeEvent
)
