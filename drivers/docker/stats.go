package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/nomadish/nomadish/drivers"
)

// TaskStats follows the Engine's stats stream (about one sample a second)
// and sends at most one sample per interval, until ctx is done or the
// container stops.
func (d *Driver) TaskStats(ctx context.Context, taskID string, interval time.Duration) (<-chan *drivers.TaskResourceUsage, error) {
	t, err := d.get(taskID)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	res, err := t.cli.ContainerStats(ctx, t.state.ContainerID, client.ContainerStatsOptions{Stream: true})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("container stats: %w", err)
	}
	ch := make(chan *drivers.TaskResourceUsage)
	go func() {
		defer close(ch)
		defer cancel()
		defer res.Body.Close()
		dec := json.NewDecoder(res.Body)
		var last time.Time
		for {
			var s container.StatsResponse
			if err := dec.Decode(&s); err != nil {
				return
			}
			if time.Since(last) < interval {
				continue
			}
			last = time.Now()
			select {
			case ch <- usageFrom(&s):
			case <-ctx.Done():
				return
			case <-t.done:
				return
			}
		}
	}()
	return ch, nil
}

func usageFrom(s *container.StatsResponse) *drivers.TaskResourceUsage {
	u := &drivers.TaskResourceUsage{Timestamp: s.Read.UnixNano()}
	if u.Timestamp <= 0 {
		u.Timestamp = time.Now().UnixNano()
	}
	m := s.MemoryStats
	u.MemoryUsage = m.Usage
	u.MemoryMaxUsage = m.MaxUsage
	// cgroup v1 reports rss and cache; v2 reports anon and file.
	u.MemoryRSS = firstNonZero(m.Stats["total_rss"], m.Stats["rss"], m.Stats["anon"])
	u.MemoryCache = firstNonZero(m.Stats["total_cache"], m.Stats["cache"], m.Stats["file"])
	u.MemorySwap = m.Stats["swap"]

	cpu, pre := s.CPUStats, s.PreCPUStats
	cpuDelta := float64(cpu.CPUUsage.TotalUsage) - float64(pre.CPUUsage.TotalUsage)
	sysDelta := float64(cpu.SystemUsage) - float64(pre.SystemUsage)
	cpus := float64(cpu.OnlineCPUs)
	if cpus == 0 {
		cpus = float64(len(cpu.CPUUsage.PercpuUsage))
	}
	if cpuDelta > 0 && sysDelta > 0 {
		u.CPUPercent = cpuDelta / sysDelta * cpus * 100
		total := float64(cpu.CPUUsage.TotalUsage)
		if total > 0 {
			u.CPUUserMode = u.CPUPercent * float64(cpu.CPUUsage.UsageInUsermode) / total
			u.CPUSystemMode = u.CPUPercent * float64(cpu.CPUUsage.UsageInKernelmode) / total
		}
	}
	u.CPUTotalTicks = float64(cpu.CPUUsage.TotalUsage) / float64(time.Second) * 100
	return u
}

func firstNonZero(vs ...uint64) uint64 {
	for _, v := range vs {
		if v != 0 {
			return v
		}
	}
	return 0
}
