// Package structs holds nomadish's domain types: jobs, nodes, allocations,
// evaluations and plans, and the request and response types that cross the
// RPC boundary. Field names follow Nomad's, so the default JSON encoding is
// Nomad's HTTP API encoding. The package does no I/O.
package structs
