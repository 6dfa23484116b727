package allocrunner

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/nomadish/nomadish/drivers"
)

// ExecTaskStreaming runs a command in a running task with streamed input
// and output. A driver that cannot stream runs it through ExecTask: no
// input, no terminal, output once the command exits.
func (ar *AllocRunner) ExecTaskStreaming(ctx context.Context, task string, opts *drivers.ExecOptions) (*drivers.ExitResult, error) {
	_, drv, id, err := ar.live(task)
	if err != nil {
		return nil, err
	}
	if es, ok := drv.(drivers.ExecStreamer); ok {
		res, err := es.ExecTaskStreaming(ctx, id, opts)
		if !errors.Is(err, drivers.ErrExecStreamingUnsupported) {
			return res, err
		}
	}
	res, err := drv.ExecTask(ctx, id, opts.Command, time.Hour)
	if err != nil {
		return nil, err
	}
	for _, o := range []struct {
		w io.Writer
		b []byte
	}{{opts.Stdout, res.Stdout}, {opts.Stderr, res.Stderr}} {
		if o.w != nil && len(o.b) > 0 {
			_, _ = o.w.Write(o.b)
		}
	}
	return res.ExitResult, nil
}
