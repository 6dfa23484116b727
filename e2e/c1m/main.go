// Command c1m is the C1M benchmark run end to end on one machine: it
// starts a nomadish server agent (real Raft, on-disk log), simulates
// client nodes over the real RPC port, submits jobs concurrently through
// the HTTP API, and measures how fast allocations are placed and reported
// running. It ends by printing one line:
//
//	placements_per_second=<n> total_seconds=<t> nodes=<n> allocs=<n>
//
// Nodes are sized so that the cluster is exactly full when every
// allocation is placed; the placement rate while the cluster goes from 85%
// to 95% full is compared with the rate from 0% to 10%.
//
// Run it with `make bench-c1m NODES=500 JOBS=100 COUNT=100`.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nomadish/nomadish/nomadish/pool"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// Task size of every benchmark allocation.
const (
	taskCPU      = 100
	taskMemoryMB = 64
	taskDiskMB   = 10
)

type options struct {
	nodes, jobs, count int
	bin                string
	conns              int
	submitters         int
	timeout            time.Duration
	profile            string
	profileSeconds     int
	profileAt          float64
	heapProfile        string
	schedulers         int
	keep               bool
	timeline           bool
	runs               int
}

// result is what one run measured.
type result struct {
	rate, ratio, wideRatio float64
	// cpuEmpty and cpuFull are the server's CPU time per placement while
	// 0-10% and 85-95% full, in microseconds.
	cpuEmpty, cpuFull float64
}

func main() {
	var o options
	flag.IntVar(&o.nodes, "nodes", 500, "simulated client nodes")
	flag.IntVar(&o.jobs, "jobs", 100, "jobs to submit")
	flag.IntVar(&o.count, "count", 100, "allocations per job")
	flag.StringVar(&o.bin, "bin", envOr("NOMADISH_BIN", "bin/nomadish"), "nomadish binary")
	flag.IntVar(&o.conns, "conns", 16, "RPC connections the simulated nodes share")
	flag.IntVar(&o.submitters, "submitters", 32, "concurrent job submissions")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up after this long")
	flag.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile of the server, taken from the first job submission, to this file")
	flag.IntVar(&o.profileSeconds, "cpuprofile-seconds", 10, "length of the CPU profile")
	flag.Float64Var(&o.profileAt, "cpuprofile-at", 0, "start the CPU profile once this fraction of the allocations runs")
	flag.StringVar(&o.heapProfile, "heapprofile", "", "write a heap profile of the server, taken when every allocation runs, to this file")
	flag.IntVar(&o.schedulers, "schedulers", 0, "num_schedulers of the server (0: its default)")
	flag.BoolVar(&o.keep, "keep", false, "keep the server's data directory and log")
	flag.BoolVar(&o.timeline, "timeline", false, "print the placements seen in each second, counted from the server's start (as its GODEBUG=gctrace=1 lines are)")
	flag.IntVar(&o.runs, "runs", 1, "repeat the whole run, each with a fresh server, and end with the medians")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var results []result
	for i := 0; i < max(o.runs, 1); i++ {
		r, err := run(ctx, o)
		if err != nil {
			fmt.Fprintln(os.Stderr, "c1m:", err)
			os.Exit(1)
		}
		results = append(results, r)
	}
	if len(results) > 1 {
		median := func(f func(result) float64) float64 {
			v := make([]float64, len(results))
			for i, r := range results {
				v[i] = f(r)
			}
			sort.Float64s(v)
			if n := len(v); n%2 == 0 {
				return (v[n/2-1] + v[n/2]) / 2
			}
			return v[len(v)/2]
		}
		fmt.Printf("median of %d runs: placements_per_second=%.0f ratio=%.2f wide_ratio=%.2f cpu_us_per_placement_empty=%.1f cpu_us_per_placement_full=%.1f\n", len(results),
			median(func(r result) float64 { return r.rate }), median(func(r result) float64 { return r.ratio }),
			median(func(r result) float64 { return r.wideRatio }),
			median(func(r result) float64 { return r.cpuEmpty }), median(func(r result) float64 { return r.cpuFull }))
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// run starts a server, fills it and reports what it measured.
func run(ctx context.Context, o options) (res result, err error) {
	if o.nodes <= 0 || o.jobs <= 0 || o.count <= 0 {
		return res, fmt.Errorf("nodes, jobs and count must be positive")
	}
	total := o.jobs * o.count
	slots := (total + o.nodes - 1) / o.nodes

	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	srv, err := startServer(ctx, o)
	if err != nil {
		return res, err
	}
	defer srv.stop()

	rec := newRecorder(total)
	pools := make([]*pool.ConnPool, o.conns)
	for i := range pools {
		pools[i] = &pool.ConnPool{}
		defer pools[i].Close()
	}

	// Register the nodes, 64 at a time, then keep them alive.
	simCtx, simCancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { simCancel(); wg.Wait() }()
	nodes := make([]*simNode, o.nodes)
	regStart := time.Now()
	sem := make(chan struct{}, 64)
	errCh := make(chan error, o.nodes)
	for i := range nodes {
		n := newSimNode(i, slots, pools[i%len(pools)], srv.rpcAddr, rec)
		nodes[i] = n
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ttl, err := n.register(simCtx)
			<-sem
			if err != nil {
				errCh <- fmt.Errorf("register %s: %w", n.node.Name, err)
				return
			}
			wg.Add(2)
			go func() { defer wg.Done(); n.heartbeat(simCtx, ttl) }()
			go func() { defer wg.Done(); n.watchAllocs(simCtx) }()
		}()
	}
	for i := 0; i < cap(sem); i++ {
		sem <- struct{}{}
	}
	select {
	case err := <-errCh:
		return res, err
	default:
	}
	if err := srv.waitNodes(ctx, o.nodes); err != nil {
		return res, err
	}
	fmt.Fprintf(os.Stderr, "registered %d nodes (%d slots each) in %.1fs\n", o.nodes, slots, time.Since(regStart).Seconds())

	var profDone chan error
	if o.profile != "" {
		profDone = make(chan error, 1)
		go func() {
			for float64(rec.runningN.Load()) < o.profileAt*float64(total) && ctx.Err() == nil {
				time.Sleep(100 * time.Millisecond)
			}
			profDone <- srv.cpuProfile(ctx, o.profile, o.profileSeconds)
		}()
	}

	// Read the plan applier's counters as the cluster fills, to tell how
	// many plans were refused in the windows the rates compare.
	plans := &planSampler{}
	go plans.run(ctx, srv, rec)
	cpu := &cpuSampler{}
	go cpu.run(ctx, srv, rec)

	// Submit every job at once, o.submitters in flight.
	cpu0 := srv.cpuSeconds()
	start := time.Now()
	subErr := make(chan error, o.jobs)
	jsem := make(chan struct{}, o.submitters)
	for j := 0; j < o.jobs; j++ {
		jsem <- struct{}{}
		go func() {
			defer func() { <-jsem }()
			if err := srv.submit(ctx, benchJob(j, o.count)); err != nil {
				subErr <- err
			}
		}()
	}
	submitted := time.Since(start)

	progress := time.NewTicker(5 * time.Second)
	defer progress.Stop()
	for done := false; !done; {
		select {
		case <-rec.done:
			done = true
		case err := <-subErr:
			return res, fmt.Errorf("submit: %w", err)
		case <-ctx.Done():
			return res, fmt.Errorf("gave up with %d of %d allocations running: %w", rec.runningN.Load(), total, ctx.Err())
		case <-progress.C:
			fmt.Fprintf(os.Stderr, "%.0fs: %d/%d allocations running\n", time.Since(start).Seconds(), rec.runningN.Load(), total)
		}
	}
	elapsed := time.Since(start).Seconds()
	if o.heapProfile != "" {
		if err := srv.fetchProfile(ctx, "/debug/pprof/heap?gc=1", o.heapProfile); err != nil {
			fmt.Fprintln(os.Stderr, "heap profile:", err)
		} else {
			fmt.Fprintln(os.Stderr, "heap profile written to", o.heapProfile)
		}
	}
	if profDone != nil {
		if err := <-profDone; err != nil {
			fmt.Fprintln(os.Stderr, "cpu profile:", err)
		} else {
			fmt.Fprintln(os.Stderr, "cpu profile written to", o.profile)
		}
	}
	rec.mu.Lock()
	sort.Slice(rec.seenAt, func(i, k int) bool { return rec.seenAt[i].Before(rec.seenAt[k]) })
	rec.mu.Unlock()
	empty, full := rec.rate(0, 0.10), rec.rate(0.85, 0.95)
	ratio := 0.0
	if empty > 0 {
		ratio = full / empty
	}
	if o.timeline {
		rec.printTimeline(os.Stderr, srv.started)
	}
	fmt.Fprintf(os.Stderr, "jobs submitted in %.1fs; rpc errors %d; server cpu %.1fs; server peak rss %d MB\n", submitted.Seconds(), rec.errors.Load(), srv.cpuSeconds()-cpu0, srv.peakRSSMB())
	fmt.Fprintf(os.Stderr, "rate_empty=%.0f rate_90_full=%.0f ratio=%.2f (placements/s while 0-10%% and 85-95%% full)\n", empty, full, ratio)
	// The server's collector marks for seconds at a time near full, and
	// placements slow while it does; whether the 85-95% window holds one
	// mark or two moves the ratio by a fifth. Wider windows show the
	// sustained rates.
	if wideEmpty := rec.rate(0.01, 0.15); wideEmpty > 0 {
		wideFull := rec.rate(0.75, 0.97)
		res.wideRatio = wideFull / wideEmpty
		fmt.Fprintf(os.Stderr, "rate_1_15=%.0f rate_75_97=%.0f ratio=%.2f (wider windows)\n", wideEmpty, wideFull, res.wideRatio)
	}
	fmt.Fprintf(os.Stderr, "plans while 0-10%% full: %s; while 85-95%% full: %s\n", plans.window(0, 0.10, total), plans.window(0.85, 0.95, total))
	// CPU time per placement moves far less than the rates with where the
	// collector's marks fall, and says where a fuller cluster costs more.
	res.cpuEmpty, res.cpuFull = cpu.perPlacement(rec, 0, 0.10), cpu.perPlacement(rec, 0.85, 0.95)
	if res.cpuEmpty > 0 {
		fmt.Fprintf(os.Stderr, "server cpu per placement: %.1f us while 0-10%% full, %.1f us while 85-95%% full (%.2f)\n", res.cpuEmpty, res.cpuFull, res.cpuFull/res.cpuEmpty)
	}
	fmt.Printf("placements_per_second=%.0f total_seconds=%.2f nodes=%d allocs=%d\n", float64(total)/elapsed, elapsed, o.nodes, total)
	res.rate, res.ratio = float64(total)/elapsed, ratio
	return res, nil
}

// benchJob is a service job of count allocations of the benchmark size.
func benchJob(i, count int) *structs.Job {
	id := fmt.Sprintf("c1m-%05d", i)
	return &structs.Job{
		ID:          id,
		Name:        id,
		Namespace:   structs.DefaultNamespace,
		Type:        structs.JobTypeService,
		Priority:    50,
		Datacenters: []string{"dc1"},
		TaskGroups: []*structs.TaskGroup{{
			Name:  "g",
			Count: count,
			Tasks: []*structs.Task{{
				Name:      "t",
				Driver:    "raw_exec",
				Config:    map[string]interface{}{"command": "/bin/true"},
				Resources: &structs.Resources{CPU: taskCPU, MemoryMB: taskMemoryMB},
			}},
			EphemeralDisk: &structs.EphemeralDisk{SizeMB: taskDiskMB},
		}},
	}
}

// server is the agent process under test.
type server struct {
	cmd      *exec.Cmd
	dir      string
	httpAddr string
	rpcAddr  string
	client   *http.Client
	exited   chan struct{}
	log      *os.File
	keep     bool
	// started is when the server process was started.
	started time.Time
}

func startServer(ctx context.Context, o options) (*server, error) {
	dir, err := os.MkdirTemp("", "nomadish-c1m-")
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	sched := ""
	if o.schedulers > 0 {
		sched = fmt.Sprintf("  num_schedulers = %d\n", o.schedulers)
	}
	cfg := fmt.Sprintf(`data_dir = %q
bind_addr = "127.0.0.1"
log_level = "WARN"
ports {
  http = %d
  rpc = %d
  serf = %d
}
server {
  enabled = true
  bootstrap_expect = 1
%s}
`, filepath.Join(dir, "data"), ports[0], ports[1], ports[2], sched)
	cfgPath := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "agent.log"))
	if err != nil {
		return nil, err
	}
	s := &server{
		dir:      dir,
		httpAddr: fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
		rpcAddr:  fmt.Sprintf("127.0.0.1:%d", ports[1]),
		client: &http.Client{Transport: &http.Transport{
			MaxIdleConnsPerHost: 128, DisableCompression: true,
		}, Timeout: 5 * time.Minute},
		exited: make(chan struct{}),
		log:    logf,
		keep:   o.keep,
	}
	s.cmd = exec.Command(o.bin, "agent", "-config", cfgPath)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if o.profile != "" || o.heapProfile != "" {
		s.cmd.Env = append(os.Environ(), "NOMADISH_ENABLE_DEBUG=1")
	}
	s.started = time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", o.bin, err)
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	fmt.Fprintf(os.Stderr, "server pid %d, http %s, rpc %s, log %s\n", s.cmd.Process.Pid, s.httpAddr, s.rpcAddr, logf.Name())
	deadline := time.Now().Add(60 * time.Second)
	for {
		var leader string
		if err := s.getJSON(ctx, "/v1/status/leader", &leader); err == nil && leader != "" {
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("server exited; see %s", logf.Name())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("server has no leader after 60s; see %s", logf.Name())
		}
	}
}

// stop ends the server process (SIGINT, then SIGKILL after 20s) and
// removes its data unless asked to keep it.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.log.Close()
	if !s.keep {
		_ = os.RemoveAll(s.dir)
	}
}

func (s *server) getJSON(ctx context.Context, path string, out interface{}) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.httpAddr+path, nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// counters reads the server's counters from /v1/metrics, by name.
func (s *server) counters(ctx context.Context) (map[string]uint64, error) {
	var out struct {
		Counters []struct {
			Name  string
			Count uint64
		}
	}
	if err := s.getJSON(ctx, "/v1/metrics", &out); err != nil {
		return nil, err
	}
	m := make(map[string]uint64, len(out.Counters))
	for _, c := range out.Counters {
		m[c.Name] = c.Count
	}
	return m, nil
}

// planSampler reads the plan applier's counters as the running
// allocations pass the edges of the windows the rates compare, and only
// then, so that reading them weighs nothing on the rates.
type planSampler struct {
	mu      sync.Mutex
	samples []planSample
}

type planSample struct {
	running  int64
	counters map[string]uint64
}

// sampleAt are the fractions of the allocations at which counters are read.
var sampleAt = []float64{0, 0.10, 0.85, 0.95}

func (p *planSampler) run(ctx context.Context, srv *server, rec *recorder) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	next := 0
	for next < len(sampleAt) {
		if !nextTick(ctx, rec, t) {
			return
		}
		running := rec.runningN.Load()
		if float64(running) < sampleAt[next]*float64(rec.total) {
			continue
		}
		c, err := srv.counters(ctx)
		if err != nil {
			continue
		}
		p.mu.Lock()
		p.samples = append(p.samples, planSample{running: running, counters: c})
		p.mu.Unlock()
		for next < len(sampleAt) && float64(running) >= sampleAt[next]*float64(rec.total) {
			next++
		}
	}
}

// cpuSampler reads the server's CPU time as the cluster fills.
type cpuSampler struct {
	mu      sync.Mutex
	samples []cpuSample
}

type cpuSample struct {
	at  time.Time
	cpu float64
}

func (c *cpuSampler) run(ctx context.Context, srv *server, rec *recorder) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		c.mu.Lock()
		c.samples = append(c.samples, cpuSample{at: time.Now(), cpu: srv.cpuSeconds()})
		c.mu.Unlock()
		if !nextTick(ctx, rec, t) {
			return
		}
	}
}

// nextTick waits for t's next tick; false when the run ended first.
func nextTick(ctx context.Context, rec *recorder, t *time.Ticker) bool {
	select {
	case <-ctx.Done():
		return false
	case <-rec.done:
		return false
	case <-t.C:
		return true
	}
}

// at interpolates the CPU time at t.
func (c *cpuSampler) at(t time.Time) float64 {
	i := sort.Search(len(c.samples), func(i int) bool { return !c.samples[i].at.Before(t) })
	switch {
	case i == 0:
		return c.samples[0].cpu
	case i == len(c.samples):
		return c.samples[i-1].cpu
	}
	a, b := c.samples[i-1], c.samples[i]
	f := float64(t.Sub(a.at)) / float64(b.at.Sub(a.at))
	return a.cpu + f*(b.cpu-a.cpu)
}

// perPlacement is the server's CPU time per placement, in microseconds,
// while the running allocations went from fraction lo to hi of the total;
// 0 when unknown. The recorder's times must be sorted.
func (c *cpuSampler) perPlacement(rec *recorder, lo, hi float64) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	n := len(rec.seenAt)
	a, b := int(lo*float64(rec.total)), min(int(hi*float64(rec.total)), n-1)
	if len(c.samples) < 2 || a >= b {
		return 0
	}
	return (c.at(rec.seenAt[b]) - c.at(rec.seenAt[a])) / float64(b-a) * 1e6
}

// window describes the plans applied while the running allocations went
// from fraction lo to fraction hi of total.
func (p *planSampler) window(lo, hi float64, total int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	first := func(f float64) *planSample {
		for i := range p.samples {
			if float64(p.samples[i].running) >= f*float64(total) {
				return &p.samples[i]
			}
		}
		return nil
	}
	a, b := first(lo), first(hi)
	if a == nil || b == nil || a == b {
		return "not sampled"
	}
	d := func(name string) uint64 { return b.counters[name] - a.counters[name] }
	return fmt.Sprintf("%d evaluated, %d partial, %d nodes refused", d("nomad_plan_evaluated_total"), d("nomad_plan_partial_total"), d("nomad_plan_node_rejected_total"))
}

// waitNodes waits until the server lists n ready nodes.
func (s *server) waitNodes(ctx context.Context, n int) error {
	for {
		var nodes []struct{ Status string }
		if err := s.getJSON(ctx, "/v1/nodes", &nodes); err == nil {
			ready := 0
			for _, x := range nodes {
				if x.Status == structs.NodeStatusReady {
					ready++
				}
			}
			if ready >= n {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d ready nodes: %w", n, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// submit registers a job through PUT /v1/jobs.
func (s *server) submit(ctx context.Context, job *structs.Job) error {
	body, err := json.Marshal(map[string]interface{}{"Job": job})
	if err != nil {
		return err
	}
	return retry(ctx, func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.httpAddr+"/v1/jobs", bytes.NewReader(body))
		if err != nil {
			return err
		}
		resp, err := s.client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("PUT /v1/jobs %s: %s: %s", job.ID, resp.Status, b)
		}
		return nil
	})
}

// cpuProfile records the server's CPU profile for the given seconds,
// from the moment jobs are submitted, and writes it to path.
func (s *server) cpuProfile(ctx context.Context, path string, seconds int) error {
	return s.fetchProfile(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", seconds), path)
}

// fetchProfile writes what the server's pprof endpoint at rel returns to
// path.
func (s *server) fetchProfile(ctx context.Context, rel, path string) error {
	url := s.httpAddr + rel
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cpuSeconds is the CPU time the server process used so far (user and
// system), from /proc; 0 where that cannot be read.
func (s *server) cpuSeconds() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th of them, in clock ticks (100 a second).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100
}

// peakRSSMB is the server process's peak resident memory (VmHWM), from
// /proc; 0 where that cannot be read.
func (s *server) peakRSSMB() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb / 1024
		}
	}
	return 0
}

func freePorts(n int) ([]int, error) {
	var out []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}
