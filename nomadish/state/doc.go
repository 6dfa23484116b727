// Package state is the servers' replicated state: go-memdb tables of jobs,
// job versions, nodes, allocations and evaluations, written only by the FSM
// with the Raft index of each change, read through snapshots and watch sets
// (blocking queries).
package state
