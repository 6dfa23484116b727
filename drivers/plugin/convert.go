package plugin

import (
	"time"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/proto"
)

func schemaToProto(s *drivers.Schema) *proto.Schema {
	if s == nil {
		return nil
	}
	return &proto.Schema{Fields: fieldsToProto(s.Fields)}
}

func fieldsToProto(fs []*drivers.SchemaField) []*proto.SchemaField {
	if len(fs) == 0 {
		return nil
	}
	out := make([]*proto.SchemaField, 0, len(fs))
	for _, f := range fs {
		out = append(out, &proto.SchemaField{
			Name:     f.Name,
			Type:     f.Type,
			Required: f.Required,
			Fields:   fieldsToProto(f.Fields),
		})
	}
	return out
}

func schemaFromProto(s *proto.Schema) *drivers.Schema {
	if s == nil {
		return nil
	}
	return &drivers.Schema{Fields: fieldsFromProto(s.GetFields())}
}

func fieldsFromProto(fs []*proto.SchemaField) []*drivers.SchemaField {
	if len(fs) == 0 {
		return nil
	}
	out := make([]*drivers.SchemaField, 0, len(fs))
	for _, f := range fs {
		out = append(out, &drivers.SchemaField{
			Name:     f.GetName(),
			Type:     f.GetType(),
			Required: f.GetRequired(),
			Fields:   fieldsFromProto(f.GetFields()),
		})
	}
	return out
}

func taskConfigToProto(c *drivers.TaskConfig) *proto.TaskConfig {
	if c == nil {
		return nil
	}
	out := &proto.TaskConfig{
		Id:               c.ID,
		JobName:          c.JobName,
		JobId:            c.JobID,
		TaskGroupName:    c.TaskGroupName,
		Name:             c.Name,
		Namespace:        c.Namespace,
		AllocId:          c.AllocID,
		User:             c.User,
		Env:              c.Env,
		AllocDir:         c.AllocDir,
		TaskDir:          c.TaskDir,
		StdoutPath:       c.StdoutPath,
		StderrPath:       c.StderrPath,
		LogMaxFiles:      int32(c.LogMaxFiles),
		LogMaxFileSizeMb: int32(c.LogMaxFileSizeMB),
		DriverConfig:     c.DriverConfig,
		KillSignal:       c.KillSignal,
		NetworkNamespace: c.NetworkNamespace,
		NetworkIsolation: netSpecToProto(c.NetworkIsolation),
	}
	if r := c.Resources; r != nil {
		cores := make([]uint32, 0, len(r.Cores))
		for _, c := range r.Cores {
			cores = append(cores, uint32(c))
		}
		out.Resources = &proto.Resources{
			CpuShares:   r.CPUShares,
			Cores:       cores,
			MemoryMb:    r.MemoryMB,
			MemoryMaxMb: r.MemoryMaxMB,
			DiskMb:      r.DiskMB,
		}
	}
	for _, p := range c.Ports {
		out.Ports = append(out.Ports, &proto.PortMapping{
			Label:  p.Label,
			Value:  int64(p.Value),
			To:     int64(p.To),
			HostIp: p.HostIP,
		})
	}
	return out
}

func taskConfigFromProto(c *proto.TaskConfig) *drivers.TaskConfig {
	if c == nil {
		return nil
	}
	out := &drivers.TaskConfig{
		ID:               c.GetId(),
		JobName:          c.GetJobName(),
		JobID:            c.GetJobId(),
		TaskGroupName:    c.GetTaskGroupName(),
		Name:             c.GetName(),
		Namespace:        c.GetNamespace(),
		AllocID:          c.GetAllocId(),
		User:             c.GetUser(),
		Env:              c.GetEnv(),
		AllocDir:         c.GetAllocDir(),
		TaskDir:          c.GetTaskDir(),
		StdoutPath:       c.GetStdoutPath(),
		StderrPath:       c.GetStderrPath(),
		LogMaxFiles:      int(c.GetLogMaxFiles()),
		LogMaxFileSizeMB: int(c.GetLogMaxFileSizeMb()),
		DriverConfig:     c.GetDriverConfig(),
		KillSignal:       c.GetKillSignal(),
		NetworkNamespace: c.GetNetworkNamespace(),
		NetworkIsolation: netSpecFromProto(c.GetNetworkIsolation()),
	}
	if r := c.GetResources(); r != nil {
		var cores []uint16
		for _, c := range r.GetCores() {
			cores = append(cores, uint16(c))
		}
		out.Resources = &drivers.Resources{
			CPUShares:   r.GetCpuShares(),
			Cores:       cores,
			MemoryMB:    r.GetMemoryMb(),
			MemoryMaxMB: r.GetMemoryMaxMb(),
			DiskMB:      r.GetDiskMb(),
		}
	}
	for _, p := range c.GetPorts() {
		out.Ports = append(out.Ports, drivers.PortMapping{
			Label:  p.GetLabel(),
			Value:  int(p.GetValue()),
			To:     int(p.GetTo()),
			HostIP: p.GetHostIp(),
		})
	}
	return out
}

func netSpecToProto(s *drivers.NetworkIsolationSpec) *proto.NetworkIsolationSpec {
	if s == nil {
		return nil
	}
	return &proto.NetworkIsolationSpec{Mode: s.Mode, Path: s.Path, Labels: s.Labels}
}

func netSpecFromProto(s *proto.NetworkIsolationSpec) *drivers.NetworkIsolationSpec {
	if s == nil {
		return nil
	}
	return &drivers.NetworkIsolationSpec{Mode: s.GetMode(), Path: s.GetPath(), Labels: s.GetLabels()}
}

func handleToProto(h *drivers.TaskHandle) *proto.TaskHandle {
	if h == nil {
		return nil
	}
	return &proto.TaskHandle{
		Version:     int64(h.Version),
		Config:      taskConfigToProto(h.Config),
		State:       h.State,
		DriverState: h.DriverState,
	}
}

func handleFromProto(h *proto.TaskHandle) *drivers.TaskHandle {
	if h == nil {
		return nil
	}
	return &drivers.TaskHandle{
		Version:     int(h.GetVersion()),
		Config:      taskConfigFromProto(h.GetConfig()),
		State:       h.GetState(),
		DriverState: h.GetDriverState(),
	}
}

func exitToProto(r *drivers.ExitResult) *proto.ExitResult {
	if r == nil {
		return nil
	}
	return &proto.ExitResult{
		ExitCode:  int64(r.ExitCode),
		Signal:    int64(r.Signal),
		OomKilled: r.OOMKilled,
		Err:       r.Err,
	}
}

func exitFromProto(r *proto.ExitResult) *drivers.ExitResult {
	if r == nil {
		return nil
	}
	return &drivers.ExitResult{
		ExitCode:  int(r.GetExitCode()),
		Signal:    int(r.GetSignal()),
		OOMKilled: r.GetOomKilled(),
		Err:       r.GetErr(),
	}
}

func usageToProto(u *drivers.TaskResourceUsage) *proto.ResourceUsage {
	if u == nil {
		return nil
	}
	return &proto.ResourceUsage{
		Timestamp:      u.Timestamp,
		CpuPercent:     u.CPUPercent,
		CpuTotalTicks:  u.CPUTotalTicks,
		CpuUserMode:    u.CPUUserMode,
		CpuSystemMode:  u.CPUSystemMode,
		MemoryRss:      u.MemoryRSS,
		MemoryCache:    u.MemoryCache,
		MemorySwap:     u.MemorySwap,
		MemoryUsage:    u.MemoryUsage,
		MemoryMaxUsage: u.MemoryMaxUsage,
	}
}

func usageFromProto(u *proto.ResourceUsage) *drivers.TaskResourceUsage {
	if u == nil {
		return nil
	}
	return &drivers.TaskResourceUsage{
		Timestamp:      u.GetTimestamp(),
		CPUPercent:     u.GetCpuPercent(),
		CPUTotalTicks:  u.GetCpuTotalTicks(),
		CPUUserMode:    u.GetCpuUserMode(),
		CPUSystemMode:  u.GetCpuSystemMode(),
		MemoryRSS:      u.GetMemoryRss(),
		MemoryCache:    u.GetMemoryCache(),
		MemorySwap:     u.GetMemorySwap(),
		MemoryUsage:    u.GetMemoryUsage(),
		MemoryMaxUsage: u.GetMemoryMaxUsage(),
	}
}

func statsToProto(u *drivers.TaskResourceUsage) *proto.TaskStatsResponse {
	out := &proto.TaskStatsResponse{Usage: usageToProto(u)}
	if len(u.Pids) > 0 {
		out.Pids = make(map[string]*proto.ResourceUsage, len(u.Pids))
		for k, v := range u.Pids {
			out.Pids[k] = usageToProto(v)
		}
	}
	return out
}

func statsFromProto(m *proto.TaskStatsResponse) *drivers.TaskResourceUsage {
	out := usageFromProto(m.GetUsage())
	if out == nil {
		out = &drivers.TaskResourceUsage{}
	}
	if len(m.GetPids()) > 0 {
		out.Pids = make(map[string]*drivers.TaskResourceUsage, len(m.GetPids()))
		for k, v := range m.GetPids() {
			out.Pids[k] = usageFromProto(v)
		}
	}
	return out
}

func unixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
