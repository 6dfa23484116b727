package plugin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/proto"
)

// Server serves a drivers.DriverPlugin over gRPC. Every call runs with the
// gRPC request context, so a client that cancels stops the work.
type Server struct {
	proto.UnimplementedDriverServer
	impl drivers.DriverPlugin
}

// NewServer wraps impl.
func NewServer(impl drivers.DriverPlugin) *Server { return &Server{impl: impl} }

// toStatus maps driver errors to gRPC status codes the client maps back.
func toStatus(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, drivers.ErrTaskNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, drivers.ErrNotSupported):
		return status.Error(codes.Unimplemented, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	default:
		return status.Error(codes.Unknown, err.Error())
	}
}

func (s *Server) Name(context.Context, *proto.NameRequest) (*proto.NameResponse, error) {
	return &proto.NameResponse{Name: s.impl.Name()}, nil
}

func (s *Server) ConfigSchema(context.Context, *proto.SchemaRequest) (*proto.SchemaResponse, error) {
	return &proto.SchemaResponse{Schema: schemaToProto(s.impl.ConfigSchema())}, nil
}

func (s *Server) TaskConfigSchema(context.Context, *proto.SchemaRequest) (*proto.SchemaResponse, error) {
	return &proto.SchemaResponse{Schema: schemaToProto(s.impl.TaskConfigSchema())}, nil
}

func (s *Server) SetConfig(ctx context.Context, req *proto.SetConfigRequest) (*proto.SetConfigResponse, error) {
	return &proto.SetConfigResponse{}, toStatus(s.impl.SetConfig(ctx, req.GetConfig()))
}

func (s *Server) Capabilities(ctx context.Context, _ *proto.CapabilitiesRequest) (*proto.CapabilitiesResponse, error) {
	c, err := s.impl.Capabilities(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &proto.CapabilitiesResponse{
		SendSignals:         c.SendSignals,
		Exec:                c.Exec,
		FsIsolation:         c.FSIsolation,
		NetIsolationModes:   c.NetIsolationModes,
		MustInitiateNetwork: c.MustInitiateNetwork,
	}, nil
}

func (s *Server) Fingerprint(_ *proto.FingerprintRequest, stream proto.Driver_FingerprintServer) error {
	ctx := stream.Context()
	ch, err := s.impl.Fingerprint(ctx)
	if err != nil {
		return toStatus(err)
	}
	if err := openStream(stream); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case fp, ok := <-ch:
			if !ok {
				return nil
			}
			err := stream.Send(&proto.FingerprintResponse{
				Health:            fp.Health,
				HealthDescription: fp.HealthDescription,
				Attributes:        fp.Attributes,
			})
			if err != nil {
				return err
			}
		}
	}
}

func (s *Server) StartTask(ctx context.Context, req *proto.StartTaskRequest) (*proto.StartTaskResponse, error) {
	h, err := s.impl.StartTask(ctx, taskConfigFromProto(req.GetTask()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &proto.StartTaskResponse{Handle: handleToProto(h)}, nil
}

func (s *Server) RecoverTask(ctx context.Context, req *proto.RecoverTaskRequest) (*proto.RecoverTaskResponse, error) {
	return &proto.RecoverTaskResponse{}, toStatus(s.impl.RecoverTask(ctx, handleFromProto(req.GetHandle())))
}

func (s *Server) WaitTask(req *proto.WaitTaskRequest, stream proto.Driver_WaitTaskServer) error {
	ctx := stream.Context()
	ch, err := s.impl.WaitTask(ctx, req.GetTaskId())
	if err != nil {
		return toStatus(err)
	}
	if err := openStream(stream); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return toStatus(ctx.Err())
	case res, ok := <-ch:
		if !ok {
			return status.Error(codes.Aborted, "wait channel closed without a result")
		}
		return stream.Send(&proto.WaitTaskResponse{Result: exitToProto(res)})
	}
}

func (s *Server) StopTask(ctx context.Context, req *proto.StopTaskRequest) (*proto.StopTaskResponse, error) {
	err := s.impl.StopTask(ctx, req.GetTaskId(), time.Duration(req.GetTimeoutNanos()), req.GetSignal())
	return &proto.StopTaskResponse{}, toStatus(err)
}

func (s *Server) DestroyTask(ctx context.Context, req *proto.DestroyTaskRequest) (*proto.DestroyTaskResponse, error) {
	return &proto.DestroyTaskResponse{}, toStatus(s.impl.DestroyTask(ctx, req.GetTaskId(), req.GetForce()))
}

func (s *Server) InspectTask(ctx context.Context, req *proto.InspectTaskRequest) (*proto.InspectTaskResponse, error) {
	st, err := s.impl.InspectTask(ctx, req.GetTaskId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &proto.InspectTaskResponse{
		Id:          st.ID,
		Name:        st.Name,
		State:       st.State,
		StartedAt:   unixNanos(st.StartedAt),
		CompletedAt: unixNanos(st.CompletedAt),
		ExitResult:  exitToProto(st.ExitResult),
		Attributes:  st.Attributes,
	}, nil
}

func (s *Server) TaskStats(req *proto.TaskStatsRequest, stream proto.Driver_TaskStatsServer) error {
	ctx := stream.Context()
	ch, err := s.impl.TaskStats(ctx, req.GetTaskId(), time.Duration(req.GetIntervalNanos()))
	if err != nil {
		return toStatus(err)
	}
	if err := openStream(stream); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case u, ok := <-ch:
			if !ok {
				return nil
			}
			if err := stream.Send(statsToProto(u)); err != nil {
				return err
			}
		}
	}
}

func (s *Server) SignalTask(ctx context.Context, req *proto.SignalTaskRequest) (*proto.SignalTaskResponse, error) {
	return &proto.SignalTaskResponse{}, toStatus(s.impl.SignalTask(ctx, req.GetTaskId(), req.GetSignal()))
}

func (s *Server) ExecTask(ctx context.Context, req *proto.ExecTaskRequest) (*proto.ExecTaskResponse, error) {
	res, err := s.impl.ExecTask(ctx, req.GetTaskId(), req.GetCmd(), time.Duration(req.GetTimeoutNanos()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &proto.ExecTaskResponse{Stdout: res.Stdout, Stderr: res.Stderr, Result: exitToProto(res.ExitResult)}, nil
}

func (s *Server) TaskEvents(_ *proto.TaskEventsRequest, stream proto.Driver_TaskEventsServer) error {
	ctx := stream.Context()
	ch, err := s.impl.TaskEvents(ctx)
	if err != nil {
		return toStatus(err)
	}
	if err := openStream(stream); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-ch:
			if !ok {
				return nil
			}
			err := stream.Send(&proto.TaskEvent{
				TaskId:      ev.TaskID,
				AllocId:     ev.AllocID,
				TaskName:    ev.TaskName,
				Timestamp:   unixNanos(ev.Timestamp),
				Message:     ev.Message,
				Annotations: ev.Annotations,
			})
			if err != nil {
				return err
			}
		}
	}
}

func (s *Server) CreateNetwork(ctx context.Context, req *proto.CreateNetworkRequest) (*proto.CreateNetworkResponse, error) {
	nm, ok := s.impl.(drivers.NetworkManager)
	if !ok {
		return nil, toStatus(fmt.Errorf("driver %s: create network: %w", s.impl.Name(), drivers.ErrNotSupported))
	}
	spec, err := nm.CreateNetwork(ctx, req.GetAllocId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &proto.CreateNetworkResponse{Spec: netSpecToProto(spec)}, nil
}

func (s *Server) DestroyNetwork(ctx context.Context, req *proto.DestroyNetworkRequest) (*proto.DestroyNetworkResponse, error) {
	nm, ok := s.impl.(drivers.NetworkManager)
	if !ok {
		return nil, toStatus(fmt.Errorf("driver %s: destroy network: %w", s.impl.Name(), drivers.ErrNotSupported))
	}
	return &proto.DestroyNetworkResponse{}, toStatus(nm.DestroyNetwork(ctx, req.GetAllocId(), netSpecFromProto(req.GetSpec())))
}

// openStream sends the response header once the driver accepted a stream
// call, so the client can tell "accepted, waiting" from "refused" before
// the first message, which for WaitTask may be hours away.
func openStream(stream grpc.ServerStream) error {
	return stream.SendHeader(metadata.Pairs(streamOpenKey, "1"))
}
