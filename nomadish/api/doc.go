// Package api is the Go HTTP client for a nomadish cluster. Its shapes follow
// Nomad's api package: a Client hands out endpoint groups (Jobs, Allocations,
// Evaluations, Nodes, Status, AllocFS), reads take *QueryOptions and return
// *QueryMeta, writes take *WriteOptions and return *WriteMeta.
//
// The job, allocation, evaluation and node types are the domain types of
// nomadish/structs, whose Go field names are Nomad's JSON names, so the wire
// format is Nomad's.
package api
