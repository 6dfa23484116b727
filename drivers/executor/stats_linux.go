package executor

import (
	"context"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nomadish/nomadish/drivers"
)

// clockTicks is USER_HZ, which Linux fixes at 100 for /proc.
const clockTicks = 100

// procStat is the part of /proc/<pid>/stat we use.
type procStat struct {
	pgid       int
	utime      uint64
	stime      uint64
	startTick  uint64
	rssPages   uint64
	zombieOrNo bool
}

func readProcStat(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, false
	}
	// Fields after the command name, starting with field 3 (state).
	f := strings.Fields(s[i+1:])
	if len(f) < 22 {
		return procStat{}, false
	}
	num := func(k int) uint64 { v, _ := strconv.ParseUint(f[k-3], 10, 64); return v }
	return procStat{
		pgid:       int(num(5)),
		utime:      num(14),
		stime:      num(15),
		startTick:  num(22),
		rssPages:   num(24),
		zombieOrNo: f[0] == "Z" || f[0] == "X",
	}, true
}

func startTick(pid int) uint64 {
	st, _ := readProcStat(pid)
	return st.startTick
}

// alive reports whether pid runs and is the process that started at tick.
func alive(pid int, tick uint64) bool {
	if pid <= 0 {
		return false
	}
	st, ok := readProcStat(pid)
	if !ok || st.zombieOrNo {
		return false
	}
	return tick == 0 || st.startTick == tick
}

func killPid(pid int) error { return unix.Kill(pid, unix.SIGKILL) }

// sample is cumulative cpu time and current memory of a task.
type sample struct {
	userNanos, sysNanos uint64
	usage               *drivers.TaskResourceUsage
}

// sampleProcessGroup sums the processes in the task's process group.
func sampleProcessGroup(pgid int) sample {
	var s sample
	u := &drivers.TaskResourceUsage{Pids: map[string]*drivers.TaskResourceUsage{}}
	entries, _ := os.ReadDir("/proc")
	page := uint64(os.Getpagesize())
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, ok := readProcStat(pid)
		if !ok || st.pgid != pgid {
			continue
		}
		rss := st.rssPages * page
		s.userNanos += st.utime * uint64(time.Second) / clockTicks
		s.sysNanos += st.stime * uint64(time.Second) / clockTicks
		u.MemoryRSS += rss
		u.Pids[e.Name()] = &drivers.TaskResourceUsage{MemoryRSS: rss, MemoryUsage: rss}
	}
	u.MemoryUsage = u.MemoryRSS
	s.usage = u
	return s
}

func sampleCgroup(cg cgroup) sample {
	cu, err := cg.usage()
	if err != nil {
		return sample{usage: &drivers.TaskResourceUsage{}}
	}
	return sample{
		userNanos: cu.CPUUserNanos,
		sysNanos:  cu.CPUSystemNanos,
		usage: &drivers.TaskResourceUsage{
			MemoryRSS:      cu.MemRSS,
			MemoryCache:    cu.MemCache,
			MemorySwap:     cu.MemSwap,
			MemoryUsage:    cu.MemUsage,
			MemoryMaxUsage: cu.MemMaxUsage,
		},
	}
}

// Stats streams usage every interval until ctx is done or the task exits,
// then closes the channel.
func (h *Handle) Stats(ctx context.Context, interval time.Duration) <-chan *drivers.TaskResourceUsage {
	if interval <= 0 {
		interval = time.Second
	}
	ch := make(chan *drivers.TaskResourceUsage)
	var cg cgroup
	if h.state.Cgroup != "" {
		cg, _ = loadCgroup(h.state.Cgroup)
	}
	take := func() sample {
		if cg != nil {
			return sampleCgroup(cg)
		}
		return sampleProcessGroup(h.state.TaskPID)
	}
	go func() {
		defer close(ch)
		prev, prevAt := take(), time.Now()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-h.done:
				return
			case <-t.C:
			}
			cur, now := take(), time.Now()
			wall := float64(now.Sub(prevAt))
			u := cur.usage
			u.Timestamp = now.UnixNano()
			if wall > 0 {
				u.CPUUserMode = 100 * float64(cur.userNanos-min(cur.userNanos, prev.userNanos)) / wall
				u.CPUSystemMode = 100 * float64(cur.sysNanos-min(cur.sysNanos, prev.sysNanos)) / wall
				u.CPUPercent = u.CPUUserMode + u.CPUSystemMode
			}
			u.CPUTotalTicks = float64(cur.userNanos+cur.sysNanos) / float64(time.Second) * clockTicks
			prev, prevAt = cur, now
			select {
			case ch <- u:
			case <-ctx.Done():
				return
			case <-h.done:
				return
			}
		}
	}()
	return ch
}
