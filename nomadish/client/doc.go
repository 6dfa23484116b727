// Package client is the client agent: it fingerprints the host and its task
// drivers into a Node, registers it with the servers and heartbeats, watches
// the servers for the node's allocations with blocking queries, runs each
// allocation with an alloc runner, and reports task and allocation status
// back in batches. State lives in a bbolt database in the data dir so a
// restarted client re-attaches to its running tasks.
//
// Goroutines and their owner (all owned by Client, stopped by Shutdown):
// the register/heartbeat loop, the alloc watcher, the status updater, one
// fingerprint loop per driver, and one Run goroutine per alloc runner (which
// owns its task runners).
package client
