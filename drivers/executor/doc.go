// Package executor runs a task under a small supervising process so that
// the task outlives the driver plugin that started it.
//
// The plugin calls Launch, which re-executes the current binary with
// EnvExecutor set. That executor process reads the Spec from the task's
// state directory, starts the task (directly for raw_exec, or through an
// isolating init for exec), reports the task's pid over a pipe, waits for
// the task and records its exit in the state directory. A restarted plugin
// re-attaches with Attach using the persisted State. The binary's entry
// point must call Main first (catalog.MaybeServe does).
package executor
