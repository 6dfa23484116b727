package client

import (
	"context"
	"fmt"

	"github.com/nomadish/nomadish/drivers"
)

// ExecTaskStreaming runs a command in a running task with its input and
// output streamed, on a terminal when opts.Tty (`alloc exec -i -t`).
func (c *Client) ExecTaskStreaming(ctx context.Context, allocID, task string, opts *drivers.ExecOptions) (*drivers.ExitResult, error) {
	ar := c.runner(allocID)
	if ar == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownAlloc, allocID)
	}
	return ar.ExecTaskStreaming(ctx, task, opts)
}
