// Package client is the client agent: it fingerprints the host and its task
// drivers into a Node, registers it with the servers and heartbeats, watches
// the servers for the node's allocations with blocking queries, runs each
// allocation with an alloc runner, and reports task and allocation status
// back in batches. State lives in a bbolt database in the data dir so a
// restarted client re-attaches to its running tasks.
//
// Layout under Config.DataDir: client/client-id and client/secret-id (the
// node's identity), client/state.db, and alloc/<alloc id>/ (see allocdir).
//
// For the HTTP API the client offers: AllocDir (for /v1/client/fs/...),
// LogReader (for /v1/client/fs/logs), Alloc (the client's view of an
// allocation), RestartAlloc, SignalAlloc, ExecTask and TaskStats. Errors
// wrap ErrUnknownAlloc, ErrUnknownTask, ErrTaskNotRunning and
// ErrBadLogRequest for the handler to map to 404 and 400.
//
// Goroutines and their owner (all owned by Client, stopped by Shutdown):
// the register/heartbeat loop, the alloc watcher, the status updater, one
// fingerprint loop per driver (with its driver-event follower), GC of
// removed allocations, and one Run goroutine per alloc runner (which owns
// its task runners and its health watcher).
package client
