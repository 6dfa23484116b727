package executor

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	cgroups "github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const cgroupRoot = "/sys/fs/cgroup"

// cgroup is the part of a task's cgroup the executor and plugin use.
type cgroup interface {
	add(pid int) error
	// usage returns cumulative cpu time and current memory use.
	usage() (cgroupUsage, error)
	oomKilled() bool
	// destroy kills what is left in the cgroup and removes it.
	destroy() error
}

type cgroupUsage struct {
	CPUUserNanos, CPUSystemNanos, CPUTotalNanos uint64
	MemRSS, MemCache, MemSwap, MemUsage         uint64
	MemMaxUsage                                 uint64
}

// CgroupsUsable reports whether this host's cgroups can be managed, with
// the reason when they cannot.
func CgroupsUsable() error {
	switch cgroups.Mode() {
	case cgroups.Unavailable:
		return errors.New("cgroups are not mounted")
	case cgroups.Unified:
		return v2Usable(cgroupRoot)
	default:
		for _, s := range []string{"cpu", "cpuacct", "memory"} {
			if err := checkWritable(filepath.Join(cgroupRoot, s, "cgroup.procs")); err != nil {
				return fmt.Errorf("cgroup v1 %s controller: %w", s, err)
			}
		}
		return nil
	}
}

// CgroupVersion is "v2" when /sys/fs/cgroup is the unified hierarchy
// alone, "v1" for v1 and hybrid hosts (which the v1 path manages), and
// "" without cgroups.
func CgroupVersion() string {
	switch cgroups.Mode() {
	case cgroups.Unavailable:
		return ""
	case cgroups.Unified:
		return "v2"
	default:
		return "v1"
	}
}

// v2Usable checks that the cgroup v2 hierarchy at root offers the cpu and
// memory controllers and lets this process enable them for its children.
func v2Usable(root string) error {
	b, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
	if err != nil {
		return err
	}
	have := strings.Fields(string(b))
	for _, c := range v2Controllers {
		if !slices.Contains(have, c) {
			return fmt.Errorf("cgroup v2 controller %s is not available in %s", c, root)
		}
	}
	return checkWritable(filepath.Join(root, "cgroup.subtree_control"))
}

func checkWritable(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

func v1Hierarchy() ([]cgroup1.Subsystem, error) {
	return []cgroup1.Subsystem{
		cgroup1.NewCpu(cgroupRoot),
		cgroup1.NewCpuacct(cgroupRoot),
		cgroup1.NewMemory(cgroupRoot),
		cgroup1.NewPids(cgroupRoot),
	}, nil
}

// newCgroup creates the task's cgroup with its limits.
func newCgroup(iso *Isolation) (cgroup, error) {
	if cgroups.Mode() == cgroups.Unified {
		return newCgroupV2(iso)
	}
	res := &specs.LinuxResources{CPU: &specs.LinuxCPU{}, Memory: &specs.LinuxMemory{}}
	if iso.CPUShares > 0 {
		res.CPU.Shares = &iso.CPUShares
	}
	if iso.MemoryLimit > 0 {
		res.Memory.Limit = &iso.MemoryLimit
	}
	if iso.MemoryReservation > 0 {
		res.Memory.Reservation = &iso.MemoryReservation
	}
	c, err := cgroup1.New(cgroup1.StaticPath(iso.Cgroup), res, cgroup1.WithHierarchy(v1Hierarchy))
	if err != nil {
		return nil, err
	}
	return &cgroupV1{c: c, path: iso.Cgroup}, nil
}

// loadCgroup opens an existing task cgroup, for stats after recovery.
func loadCgroup(path string) (cgroup, error) {
	if cgroups.Mode() == cgroups.Unified {
		m, err := cgroup2.Load(path, cgroup2.WithMountpoint(cgroupRoot))
		if err != nil {
			return nil, err
		}
		return &cgroupV2{m: m, path: path}, nil
	}
	c, err := cgroup1.Load(cgroup1.StaticPath(path), cgroup1.WithHierarchy(v1Hierarchy))
	if err != nil {
		return nil, err
	}
	return &cgroupV1{c: c, path: path}, nil
}

// sharesToWeight maps cgroup v1 cpu shares [2, 262144] to v2 weight [1, 10000].
func sharesToWeight(shares uint64) uint64 {
	if shares < 2 {
		shares = 2
	}
	if shares > 262144 {
		shares = 262144
	}
	return 1 + ((shares-2)*9999)/262142
}

type cgroupV1 struct {
	c    cgroup1.Cgroup
	path string
}

func (g *cgroupV1) add(pid int) error {
	return g.c.Add(cgroup1.Process{Pid: pid})
}

func (g *cgroupV1) usage() (cgroupUsage, error) {
	m, err := g.c.Stat(cgroup1.IgnoreNotExist)
	if err != nil {
		return cgroupUsage{}, err
	}
	var u cgroupUsage
	if m.CPU != nil && m.CPU.Usage != nil {
		u.CPUTotalNanos = m.CPU.Usage.Total
		u.CPUUserNanos = m.CPU.Usage.User
		u.CPUSystemNanos = m.CPU.Usage.Kernel
	}
	if m.Memory != nil {
		u.MemRSS = m.Memory.RSS
		u.MemCache = m.Memory.Cache
		if m.Memory.Usage != nil {
			u.MemUsage = m.Memory.Usage.Usage
			u.MemMaxUsage = m.Memory.Usage.Max
		}
		if m.Memory.Swap != nil {
			u.MemSwap = m.Memory.Swap.Usage
		}
	}
	return u, nil
}

func (g *cgroupV1) oomKilled() bool {
	v, _ := readKeyedValue(filepath.Join(cgroupRoot, "memory", g.path, "memory.oom_control"), "oom_kill")
	return v > 0
}

func (g *cgroupV1) destroy() error {
	if procs, err := g.c.Processes(cgroup1.Memory, true); err == nil {
		for _, p := range procs {
			_ = killPid(p.Pid)
		}
	}
	return g.c.Delete()
}

// v2Controllers are the controllers a task's v2 cgroup needs; creating it
// enables them in the cgroup.subtree_control of each ancestor.
var v2Controllers = []string{"cpu", "memory"}

// destroyTimeout bounds the wait for a killed cgroup to empty.
const destroyTimeout = 10 * time.Second

// newCgroupV2 creates the task's cgroup on a cgroup v2 host: cpu.weight
// from the cpu shares, memory.max from the hard limit, memory.low from the
// reservation, and no swap (memory.swap.max 0), so that memory.max is the
// whole budget as memory+swap is for docker and containerd tasks.
func newCgroupV2(iso *Isolation) (cgroup, error) {
	res := &cgroup2.Resources{CPU: &cgroup2.CPU{}, Memory: &cgroup2.Memory{}}
	if iso.CPUShares > 0 {
		w := sharesToWeight(iso.CPUShares)
		res.CPU.Weight = &w
	}
	if iso.MemoryLimit > 0 {
		res.Memory.Max = &iso.MemoryLimit
	}
	if iso.MemoryReservation > 0 {
		res.Memory.Low = &iso.MemoryReservation
	}
	m, err := cgroup2.NewManager(cgroupRoot, iso.Cgroup, res)
	if err != nil {
		return nil, err
	}
	g := &cgroupV2{m: m, path: iso.Cgroup}
	if iso.MemoryLimit > 0 {
		// A kernel without swap accounting has no memory.swap.max.
		err := writeCgroupFile(filepath.Join(g.dir(), "memory.swap.max"), "0")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, errors.Join(err, g.destroy())
		}
	}
	return g, nil
}

type cgroupV2 struct {
	m    *cgroup2.Manager
	path string
}

func (g *cgroupV2) dir() string { return filepath.Join(cgroupRoot, g.path) }

func (g *cgroupV2) add(pid int) error { return g.m.AddProc(uint64(pid)) }

func (g *cgroupV2) usage() (cgroupUsage, error) {
	m, err := g.m.Stat()
	if err != nil {
		return cgroupUsage{}, err
	}
	var u cgroupUsage
	if m.CPU != nil {
		u.CPUTotalNanos = m.CPU.UsageUsec * 1000
		u.CPUUserNanos = m.CPU.UserUsec * 1000
		u.CPUSystemNanos = m.CPU.SystemUsec * 1000
	}
	if m.Memory != nil {
		u.MemRSS = m.Memory.Anon
		u.MemCache = m.Memory.File
		u.MemUsage = m.Memory.Usage
		u.MemMaxUsage = m.Memory.MaxUsage
		u.MemSwap = m.Memory.SwapUsage
	}
	return u, nil
}

func (g *cgroupV2) oomKilled() bool {
	v, _ := readKeyedValue(filepath.Join(g.dir(), "memory.events"), "oom_kill")
	return v > 0
}

// destroy kills what is left in the cgroup and removes it. A cgroup that
// is already gone (the executor removes it when the task exits) is not an
// error.
func (g *cgroupV2) destroy() error {
	dir := g.dir()
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	// cgroup.kill (Linux 5.14+) kills every process in the cgroup at once;
	// without it, kill the listed processes, again on each retry, as
	// they may fork meanwhile.
	viaKillFile := writeCgroupFile(filepath.Join(dir, "cgroup.kill"), "1") == nil
	deadline := time.Now().Add(destroyTimeout)
	for {
		if !viaKillFile {
			killListed(dir)
		}
		// The kill is asynchronous; rmdir fails with EBUSY until the last
		// process has exited.
		err := unix.Rmdir(dir)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			return fmt.Errorf("remove cgroup %s: %w", g.path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// killListed sends SIGKILL to every process in the cgroup at dir.
func killListed(dir string) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			_ = killPid(pid)
		}
	}
}

// writeCgroupFile writes value to an existing cgroup interface file.
func writeCgroupFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readKeyedValue reads "key value" lines and returns key's value.
func readKeyedValue(path, key string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, sc.Err()
}
