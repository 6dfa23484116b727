package plugin

import (
	"context"
	"errors"
	"io"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/proto"
)

var _ drivers.ExecStreamer = (*Client)(nil)

// ExecTaskStreaming runs a streamed exec session in the plugin.
func (c *Client) ExecTaskStreaming(ctx context.Context, taskID string, opts *drivers.ExecOptions) (*drivers.ExitResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.ExecTaskStreaming(ctx)
	if err != nil {
		return nil, fromStatus(err)
	}
	setup := &proto.ExecStreamingSetup{TaskId: taskID, Cmd: opts.Command, Tty: opts.Tty}
	if err := stream.Send(&proto.ExecStreamingRequest{Setup: setup}); err != nil {
		return nil, fromStatus(err)
	}
	var sendMu sync.Mutex
	send := func(m *proto.ExecStreamingRequest) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return stream.Send(m)
	}
	if opts.Stdin != nil {
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := opts.Stdin.Read(buf)
				if n > 0 {
					if send(&proto.ExecStreamingRequest{Stdin: append([]byte(nil), buf[:n]...)}) != nil {
						return
					}
				}
				if err != nil {
					_ = send(&proto.ExecStreamingRequest{StdinClose: true})
					return
				}
			}
		}()
	} else {
		_ = send(&proto.ExecStreamingRequest{StdinClose: true})
	}
	if opts.Resize != nil {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case sz, ok := <-opts.Resize:
					if !ok {
						return
					}
					if send(&proto.ExecStreamingRequest{TtySize: &proto.TerminalSize{Height: int32(sz.Height), Width: int32(sz.Width)}}) != nil {
						return
					}
				}
			}
		}()
	}
	for {
		m, err := stream.Recv()
		if err != nil {
			if err == io.EOF {
				return nil, errors.New("exec stream ended without an exit")
			}
			if status.Code(err) == codes.Unimplemented {
				return nil, drivers.ErrExecStreamingUnsupported
			}
			return nil, fromStatus(err)
		}
		if len(m.GetStdout()) > 0 && opts.Stdout != nil {
			_, _ = opts.Stdout.Write(m.GetStdout())
		}
		if len(m.GetStderr()) > 0 && opts.Stderr != nil {
			_, _ = opts.Stderr.Write(m.GetStderr())
		}
		if m.GetExited() {
			return exitFromProto(m.GetResult()), nil
		}
	}
}

// streamWriter sends what is written to it as output frames.
type streamWriter struct {
	mu     *sync.Mutex
	stream proto.Driver_ExecTaskStreamingServer
	stderr bool
}

func (w *streamWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := &proto.ExecStreamingResponse{}
	b := append([]byte(nil), p...)
	if w.stderr {
		m.Stderr = b
	} else {
		m.Stdout = b
	}
	if err := w.stream.Send(m); err != nil {
		return 0, err
	}
	return len(p), nil
}

// ExecTaskStreaming serves a streamed exec session with the driver's
// ExecStreamer.
func (s *Server) ExecTaskStreaming(stream proto.Driver_ExecTaskStreamingServer) error {
	es, ok := s.impl.(drivers.ExecStreamer)
	if !ok {
		return status.Error(codes.Unimplemented, drivers.ErrExecStreamingUnsupported.Error())
	}
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	setup := first.GetSetup()
	if setup == nil {
		return toStatus(errors.New("exec stream must begin with its setup"))
	}
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	stdinR, stdinW := io.Pipe()
	resize := make(chan drivers.TerminalSize, 4)
	go func() {
		defer stdinW.Close()
		for {
			m, err := stream.Recv()
			if err != nil {
				return
			}
			if len(m.GetStdin()) > 0 {
				if _, err := stdinW.Write(m.GetStdin()); err != nil {
					return
				}
			}
			if sz := m.GetTtySize(); sz != nil {
				select {
				case resize <- drivers.TerminalSize{Height: int(sz.GetHeight()), Width: int(sz.GetWidth())}:
				default:
				}
			}
			if m.GetStdinClose() {
				_ = stdinW.Close()
			}
		}
	}()
	var mu sync.Mutex
	res, err := es.ExecTaskStreaming(ctx, setup.GetTaskId(), &drivers.ExecOptions{
		Command: setup.GetCmd(),
		Tty:     setup.GetTty(),
		Stdin:   stdinR,
		Stdout:  &streamWriter{mu: &mu, stream: stream},
		Stderr:  &streamWriter{mu: &mu, stream: stream, stderr: true},
		Resize:  resize,
	})
	_ = stdinR.Close()
	if err != nil {
		return toStatus(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return stream.Send(&proto.ExecStreamingResponse{Exited: true, Result: exitToProto(res)})
}
