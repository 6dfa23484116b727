package drivers

import (
	"context"
	"errors"
	"io"
)

// ErrExecStreamingUnsupported is returned by a plugin whose driver has no
// ExecStreamer; callers fall back to ExecTask.
var ErrExecStreamingUnsupported = errors.New("driver does not support streamed exec")

// TerminalSize is the size of an exec session's terminal.
type TerminalSize struct {
	Height int
	Width  int
}

// ExecOptions describe a streamed exec session.
type ExecOptions struct {
	// Command is the command and its arguments.
	Command []string
	// Tty runs the command on a new terminal; Stderr is then unused, the
	// terminal's output all goes to Stdout.
	Tty bool
	// Stdin is read until EOF; nil gives the command no input.
	Stdin io.Reader
	// Stdout and Stderr receive the output as it comes.
	Stdout io.Writer
	Stderr io.Writer
	// Resize carries terminal size changes; nil when there are none.
	Resize <-chan TerminalSize
}

// ExecStreamer is the optional ability to run a command in a task with its
// input and output streamed, on a terminal when asked (`alloc exec -i -t`).
// The client calls it from the goroutine serving the exec session; it
// blocks until the command exits or ctx ends, and returns the exit result.
type ExecStreamer interface {
	ExecTaskStreaming(ctx context.Context, taskID string, opts *ExecOptions) (*ExitResult, error)
}
