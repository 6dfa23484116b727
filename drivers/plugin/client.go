package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/proto"
)

// Client implements drivers.DriverPlugin by calling a plugin over gRPC.
// Streams are read by one goroutine each, which stops when the caller's
// context is done or the plugin ends the stream, and closes its channel.
type Client struct {
	rpc        proto.DriverClient
	name       string
	schema     *drivers.Schema
	taskSchema *drivers.Schema
}

var (
	_ drivers.DriverPlugin   = (*Client)(nil)
	_ drivers.NetworkManager = (*Client)(nil)
)

// NewClient reads the plugin's name and schemas, which the interface serves
// without a context, and returns the client.
func NewClient(ctx context.Context, conn grpc.ClientConnInterface) (*Client, error) {
	c := &Client{rpc: proto.NewDriverClient(conn)}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := c.rpc.Name(ctx, &proto.NameRequest{})
	if err != nil {
		return nil, fmt.Errorf("driver name: %w", fromStatus(err))
	}
	c.name = n.GetName()
	s, err := c.rpc.ConfigSchema(ctx, &proto.SchemaRequest{})
	if err != nil {
		return nil, fmt.Errorf("driver config schema: %w", fromStatus(err))
	}
	c.schema = schemaFromProto(s.GetSchema())
	ts, err := c.rpc.TaskConfigSchema(ctx, &proto.SchemaRequest{})
	if err != nil {
		return nil, fmt.Errorf("driver task config schema: %w", fromStatus(err))
	}
	c.taskSchema = schemaFromProto(ts.GetSchema())
	return c, nil
}

// fromStatus maps gRPC status codes back to the errors callers branch on.
func fromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.NotFound:
		return fmt.Errorf("%w: %s", drivers.ErrTaskNotFound, st.Message())
	case codes.Canceled:
		return fmt.Errorf("%s: %w", st.Message(), context.Canceled)
	case codes.DeadlineExceeded:
		return fmt.Errorf("%s: %w", st.Message(), context.DeadlineExceeded)
	case codes.Unknown:
		return errors.New(st.Message())
	case codes.Unavailable:
		return fmt.Errorf("%w: %s", drivers.ErrPluginExited, st.Message())
	case codes.Unimplemented:
		return fmt.Errorf("%w: %s", drivers.ErrNotSupported, st.Message())
	default:
		return err
	}
}

func (c *Client) Name() string                      { return c.name }
func (c *Client) ConfigSchema() *drivers.Schema     { return c.schema }
func (c *Client) TaskConfigSchema() *drivers.Schema { return c.taskSchema }

func (c *Client) SetConfig(ctx context.Context, config []byte) error {
	_, err := c.rpc.SetConfig(ctx, &proto.SetConfigRequest{Config: config})
	return fromStatus(err)
}

func (c *Client) Capabilities(ctx context.Context) (*drivers.Capabilities, error) {
	r, err := c.rpc.Capabilities(ctx, &proto.CapabilitiesRequest{})
	if err != nil {
		return nil, fromStatus(err)
	}
	return &drivers.Capabilities{
		SendSignals:         r.GetSendSignals(),
		Exec:                r.GetExec(),
		FSIsolation:         r.GetFsIsolation(),
		NetIsolationModes:   r.GetNetIsolationModes(),
		MustInitiateNetwork: r.GetMustInitiateNetwork(),
	}, nil
}

// recvLoop reads a server stream into ch until it ends or ctx is done.
func recvLoop[M any, T any](ctx context.Context, recv func() (M, error), conv func(M) T, ch chan<- T) {
	defer close(ch)
	for {
		m, err := recv()
		if err != nil {
			return
		}
		select {
		case ch <- conv(m):
		case <-ctx.Done():
			return
		}
	}
}

func (c *Client) Fingerprint(ctx context.Context) (<-chan *drivers.Fingerprint, error) {
	stream, err := c.rpc.Fingerprint(ctx, &proto.FingerprintRequest{})
	if err != nil {
		return nil, fromStatus(err)
	}
	if err := awaitOpen(stream); err != nil {
		return nil, err
	}
	ch := make(chan *drivers.Fingerprint)
	go recvLoop(ctx, stream.Recv, func(m *proto.FingerprintResponse) *drivers.Fingerprint {
		return &drivers.Fingerprint{
			Health:            m.GetHealth(),
			HealthDescription: m.GetHealthDescription(),
			Attributes:        m.GetAttributes(),
		}
	}, ch)
	return ch, nil
}

func (c *Client) StartTask(ctx context.Context, cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	r, err := c.rpc.StartTask(ctx, &proto.StartTaskRequest{Task: taskConfigToProto(cfg)})
	if err != nil {
		return nil, fromStatus(err)
	}
	return handleFromProto(r.GetHandle()), nil
}

func (c *Client) RecoverTask(ctx context.Context, handle *drivers.TaskHandle) error {
	_, err := c.rpc.RecoverTask(ctx, &proto.RecoverTaskRequest{Handle: handleToProto(handle)})
	return fromStatus(err)
}

// WaitTask opens the wait stream before returning, so an unknown task is
// reported as an error here. The channel yields the task's result, or is
// closed without a value if ctx is done or the plugin exits first; any
// other failure of the stream yields a result with Err set.
func (c *Client) WaitTask(ctx context.Context, taskID string) (<-chan *drivers.ExitResult, error) {
	stream, err := c.rpc.WaitTask(ctx, &proto.WaitTaskRequest{TaskId: taskID})
	if err != nil {
		return nil, fromStatus(err)
	}
	if err := awaitOpen(stream); err != nil {
		return nil, err
	}
	ch := make(chan *drivers.ExitResult, 1)
	go func() {
		defer close(ch)
		m, err := stream.Recv()
		var res *drivers.ExitResult
		switch {
		case err == nil:
			res = exitFromProto(m.GetResult())
		case ctx.Err() != nil, errors.Is(fromStatus(err), drivers.ErrPluginExited):
			return
		case errors.Is(err, io.EOF):
			res = &drivers.ExitResult{Err: "wait stream ended without a result"}
		default:
			res = &drivers.ExitResult{Err: fromStatus(err).Error()}
		}
		ch <- res
	}()
	return ch, nil
}

func (c *Client) StopTask(ctx context.Context, taskID string, timeout time.Duration, signal string) error {
	_, err := c.rpc.StopTask(ctx, &proto.StopTaskRequest{TaskId: taskID, TimeoutNanos: int64(timeout), Signal: signal})
	return fromStatus(err)
}

func (c *Client) DestroyTask(ctx context.Context, taskID string, force bool) error {
	_, err := c.rpc.DestroyTask(ctx, &proto.DestroyTaskRequest{TaskId: taskID, Force: force})
	return fromStatus(err)
}

func (c *Client) InspectTask(ctx context.Context, taskID string) (*drivers.TaskStatus, error) {
	r, err := c.rpc.InspectTask(ctx, &proto.InspectTaskRequest{TaskId: taskID})
	if err != nil {
		return nil, fromStatus(err)
	}
	return &drivers.TaskStatus{
		ID:          r.GetId(),
		Name:        r.GetName(),
		State:       r.GetState(),
		StartedAt:   fromUnixNanos(r.GetStartedAt()),
		CompletedAt: fromUnixNanos(r.GetCompletedAt()),
		ExitResult:  exitFromProto(r.GetExitResult()),
		Attributes:  r.GetAttributes(),
	}, nil
}

func (c *Client) TaskStats(ctx context.Context, taskID string, interval time.Duration) (<-chan *drivers.TaskResourceUsage, error) {
	stream, err := c.rpc.TaskStats(ctx, &proto.TaskStatsRequest{TaskId: taskID, IntervalNanos: int64(interval)})
	if err != nil {
		return nil, fromStatus(err)
	}
	if err := awaitOpen(stream); err != nil {
		return nil, err
	}
	ch := make(chan *drivers.TaskResourceUsage)
	go recvLoop(ctx, stream.Recv, statsFromProto, ch)
	return ch, nil
}

func (c *Client) SignalTask(ctx context.Context, taskID string, signal string) error {
	_, err := c.rpc.SignalTask(ctx, &proto.SignalTaskRequest{TaskId: taskID, Signal: signal})
	return fromStatus(err)
}

func (c *Client) ExecTask(ctx context.Context, taskID string, cmd []string, timeout time.Duration) (*drivers.ExecTaskResult, error) {
	r, err := c.rpc.ExecTask(ctx, &proto.ExecTaskRequest{TaskId: taskID, Cmd: cmd, TimeoutNanos: int64(timeout)})
	if err != nil {
		return nil, fromStatus(err)
	}
	return &drivers.ExecTaskResult{Stdout: r.GetStdout(), Stderr: r.GetStderr(), ExitResult: exitFromProto(r.GetResult())}, nil
}

func (c *Client) TaskEvents(ctx context.Context) (<-chan *drivers.TaskEvent, error) {
	stream, err := c.rpc.TaskEvents(ctx, &proto.TaskEventsRequest{})
	if err != nil {
		return nil, fromStatus(err)
	}
	if err := awaitOpen(stream); err != nil {
		return nil, err
	}
	ch := make(chan *drivers.TaskEvent)
	go recvLoop(ctx, stream.Recv, func(m *proto.TaskEvent) *drivers.TaskEvent {
		return &drivers.TaskEvent{
			TaskID:      m.GetTaskId(),
			AllocID:     m.GetAllocId(),
			TaskName:    m.GetTaskName(),
			Timestamp:   fromUnixNanos(m.GetTimestamp()),
			Message:     m.GetMessage(),
			Annotations: m.GetAnnotations(),
		}
	}, ch)
	return ch, nil
}

// CreateNetwork asks the plugin to make an allocation's network namespace;
// a plugin whose driver cannot answers ErrNotSupported.
func (c *Client) CreateNetwork(ctx context.Context, allocID string) (*drivers.NetworkIsolationSpec, error) {
	r, err := c.rpc.CreateNetwork(ctx, &proto.CreateNetworkRequest{AllocId: allocID})
	if err != nil {
		return nil, fromStatus(err)
	}
	if r.GetSpec() == nil {
		return nil, errors.New("create network: the driver returned no namespace")
	}
	return netSpecFromProto(r.GetSpec()), nil
}

// DestroyNetwork asks the plugin to remove a namespace it made.
func (c *Client) DestroyNetwork(ctx context.Context, allocID string, spec *drivers.NetworkIsolationSpec) error {
	_, err := c.rpc.DestroyNetwork(ctx, &proto.DestroyNetworkRequest{AllocId: allocID, Spec: netSpecToProto(spec)})
	return fromStatus(err)
}

// streamOpenKey is the header the server sends when it accepts a stream.
const streamOpenKey = "nomadish-stream-open"

// awaitOpen waits for the server to accept a stream call. A server stream
// reports a refused call only once read, so without this an unknown task
// would surface on the channel instead of as the call's error.
func awaitOpen(stream grpc.ClientStream) error {
	md, err := stream.Header()
	if err != nil {
		return fromStatus(err)
	}
	if len(md.Get(streamOpenKey)) > 0 {
		return nil
	}
	if err := stream.RecvMsg(new(proto.NameResponse)); err != nil && !errors.Is(err, io.EOF) {
		return fromStatus(err)
	}
	return errors.New("driver stream ended before it opened")
}
