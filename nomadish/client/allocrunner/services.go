package allocrunner

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/nomadish/nomadish/nomadish/client/taskenv"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// ServiceClient stores service registrations on the servers. The alloc
// runner's service goroutine calls the writes; task runners call
// ServicesByName while rendering templates. Every method may block on the
// network and must honour ctx.
type ServiceClient interface {
	// UpsertServices stores registrations.
	UpsertServices(ctx context.Context, regs []*structs.ServiceRegistration) error
	// RemoveServices removes an allocation's registrations, only ids when
	// given.
	RemoveServices(ctx context.Context, allocID string, ids []string) error
	// ServicesByName returns the instances of a service. With minIndex > 0
	// it blocks until the service registrations change past minIndex (or
	// a server-side timeout). It returns the index of the answer.
	ServicesByName(ctx context.Context, namespace, name string, minIndex uint64) ([]*structs.ServiceRegistration, uint64, error)
}

// serviceResync is how often the registrations are sent again in full.
const serviceResync = time.Minute

// serviceDef is one built-in service of the allocation and the task whose
// life it follows ("" for a group service: it follows the main tasks).
type serviceDef struct {
	svc   *structs.Service
	task  string
	id    string
	check []*checkDef
}

// checkDef is one check of a service.
type checkDef struct {
	id   string
	def  *structs.ServiceCheck
	task string
	// restartTask is the task check_restart restarts.
	restartTask string
}

// serviceManager registers the allocation's built-in services while their
// tasks run, runs their checks, and removes them as the tasks stop. Its
// goroutines are owned by the alloc runner's WaitGroup.
type serviceManager struct {
	ar    *AllocRunner
	group string
	defs  []*serviceDef

	nudge chan struct{}
	done  chan struct{}

	mu sync.Mutex
	// active are the services whose tasks run, by registration ID.
	active map[string]*serviceDef
	// checks cancel the check goroutines, by check ID.
	checks map[string]context.CancelFunc
	// results are the last check results, by check ID.
	results map[string]*CheckResult
	// closing: remove everything and stop.
	closing bool
}

// newServiceManager collects the allocation's built-in services; it
// returns nil when there are none or no client to register them with.
func newServiceManager(ar *AllocRunner) *serviceManager {
	if ar.cfg.Services == nil {
		return nil
	}
	a := ar.alloc
	tg := a.Job.LookupTaskGroup(a.TaskGroup)
	var defs []*serviceDef
	add := func(s *structs.Service, task string) {
		if !s.BuiltinProvider() {
			return
		}
		d := &serviceDef{svc: s, task: task, id: structs.ServiceRegistrationID(a.ID, task, tg.Name, s.Name, s.PortLabel)}
		for i, c := range s.Checks {
			if c == nil {
				continue
			}
			name := c.Name
			if name == "" {
				name = fmt.Sprintf("service: %q check", s.Name)
			}
			ct := task
			if ct == "" {
				ct = c.TaskName
			}
			d.check = append(d.check, &checkDef{
				id:          d.id + "-check-" + strconv.Itoa(i),
				def:         withName(c, name),
				task:        ct,
				restartTask: ct,
			})
		}
		defs = append(defs, d)
	}
	for _, s := range tg.Services {
		if s != nil {
			add(s, "")
		}
	}
	for _, t := range tg.Tasks {
		for _, s := range t.Services {
			if s != nil {
				add(s, t.Name)
			}
		}
	}
	if len(defs) == 0 {
		return nil
	}
	return &serviceManager{
		ar:      ar,
		group:   tg.Name,
		defs:    defs,
		nudge:   make(chan struct{}, 1),
		done:    make(chan struct{}),
		active:  map[string]*serviceDef{},
		checks:  map[string]context.CancelFunc{},
		results: map[string]*CheckResult{},
	}
}

func withName(c *structs.ServiceCheck, name string) *structs.ServiceCheck {
	cc := *c
	cc.Name = name
	return &cc
}

func (sm *serviceManager) poke() {
	select {
	case sm.nudge <- struct{}{}:
	default:
	}
}

// supervise brings the active set in line with the task states. The
// coordinator calls it after every change; it does not block.
func (sm *serviceManager) supervise(ctx context.Context) {
	if sm == nil {
		return
	}
	ar := sm.ar
	ar.mu.Lock()
	running := func(n string) bool {
		ts := ar.states[n]
		return ts != nil && ts.State == structs.TaskStateRunning
	}
	anyMain := false
	for _, n := range ar.order {
		if role(ar.tasks[n].task) == roleMain && running(n) {
			anyMain = true
		}
	}
	killing := ar.killing
	want := map[string]*serviceDef{}
	for _, d := range sm.defs {
		up := anyMain
		if d.task != "" {
			up = running(d.task)
		}
		if up && !killing {
			want[d.id] = d
		}
	}
	ar.mu.Unlock()

	sm.mu.Lock()
	changed := false
	for id, d := range sm.active {
		if want[id] == nil {
			delete(sm.active, id)
			for _, c := range d.check {
				if cancel := sm.checks[c.id]; cancel != nil {
					cancel()
					delete(sm.checks, c.id)
				}
				delete(sm.results, c.id)
			}
			changed = true
		}
	}
	for id, d := range want {
		if sm.active[id] != nil {
			continue
		}
		sm.active[id] = d
		changed = true
		for _, c := range d.check {
			cctx, cancel := context.WithCancel(ctx)
			sm.checks[c.id] = cancel
			sm.results[c.id] = sm.initialResult(d, c)
			ar.wg.Add(1)
			go func() {
				defer ar.wg.Done()
				sm.runCheck(cctx, d, c)
			}()
		}
	}
	sm.mu.Unlock()
	if changed {
		sm.poke()
	}
}

func (sm *serviceManager) initialResult(d *serviceDef, c *checkDef) *CheckResult {
	status := c.def.InitialStatus
	if status == "" {
		status = structs.CheckPending
	}
	return &CheckResult{
		ID: c.id, Check: c.def.Name, Group: sm.group, Mode: "healthiness",
		Service: d.svc.Name, Status: status, Task: c.task, Timestamp: time.Now().Unix(),
	}
}

// run is the registration goroutine: it sends the wanted registrations
// whenever they change, retrying with backoff, until close.
func (sm *serviceManager) run(ctx context.Context) {
	defer close(sm.done)
	sent := map[string]*structs.ServiceRegistration{}
	retry := 0
	t := time.NewTimer(0)
	<-t.C
	defer t.Stop()
	// The servers drop registrations on their own (node marked down,
	// service delete): a periodic full resend restores them; unchanged
	// ones are no-ops in the state store.
	resync := time.NewTicker(serviceResync)
	defer resync.Stop()
	for {
		sm.mu.Lock()
		closing := sm.closing
		sm.mu.Unlock()
		if closing {
			sm.removeAll(ctx, sent)
			return
		}
		want := sm.registrations()
		err := sm.sync(ctx, sent, want)
		var wait <-chan time.Time
		if err != nil {
			sm.ar.logger.Warn("sync service registrations", "error", err)
			t.Reset(retryDelay(retry))
			wait = t.C
			retry++
		} else {
			retry = 0
		}
		select {
		case <-sm.nudge:
			if wait != nil && !t.Stop() {
				<-t.C
			}
		case <-wait:
		case <-resync.C:
			clear(sent)
		case <-ctx.Done():
			return
		}
	}
}

func retryDelay(n int) time.Duration {
	d := 250 * time.Millisecond
	for i := 0; i < n && d < 10*time.Second; i++ {
		d *= 2
	}
	return d
}

// sync sends changed registrations and removes dropped ones; sent is
// updated to what the servers hold.
func (sm *serviceManager) sync(ctx context.Context, sent, want map[string]*structs.ServiceRegistration) error {
	var up []*structs.ServiceRegistration
	for id, r := range want {
		if !r.Equal(sent[id]) {
			up = append(up, r)
		}
	}
	var gone []string
	for id := range sent {
		if want[id] == nil {
			gone = append(gone, id)
		}
	}
	sort.Slice(up, func(i, j int) bool { return up[i].ID < up[j].ID })
	sort.Strings(gone)
	cl := sm.ar.cfg.Services
	if len(up) > 0 {
		if err := cl.UpsertServices(ctx, up); err != nil {
			return err
		}
		for _, r := range up {
			sent[r.ID] = r
		}
	}
	if len(gone) > 0 {
		if err := cl.RemoveServices(ctx, sm.ar.cfg.Alloc.ID, gone); err != nil {
			return err
		}
		for _, id := range gone {
			delete(sent, id)
		}
	}
	return nil
}

// removeAll removes the allocation's registrations, a few tries.
func (sm *serviceManager) removeAll(ctx context.Context, sent map[string]*structs.ServiceRegistration) {
	if len(sent) == 0 {
		return
	}
	for attempt := 0; attempt < 5; attempt++ {
		err := sm.ar.cfg.Services.RemoveServices(ctx, sm.ar.cfg.Alloc.ID, nil)
		if err == nil {
			return
		}
		sm.ar.logger.Warn("remove service registrations", "error", err, "attempt", attempt+1)
		if !sleepCtx(ctx, nil, retryDelay(attempt)) {
			return
		}
	}
}

// stop ends the checks; with remove, it also removes the registrations
// and waits for that. Called by the coordinator as Run ends.
func (sm *serviceManager) stop(remove bool) {
	if sm == nil {
		return
	}
	sm.mu.Lock()
	for id, cancel := range sm.checks {
		cancel()
		delete(sm.checks, id)
	}
	sm.closing = remove
	sm.mu.Unlock()
	if remove {
		sm.poke()
		<-sm.done
	}
}

// registrations builds the wanted registrations with their check status.
func (sm *serviceManager) registrations() map[string]*structs.ServiceRegistration {
	ar := sm.ar
	ar.mu.Lock()
	alloc := ar.withNetworkLocked(ar.alloc)
	ar.mu.Unlock()
	node := ar.cfg.Node()
	sm.mu.Lock()
	defer sm.mu.Unlock()
	out := map[string]*structs.ServiceRegistration{}
	for id, d := range sm.active {
		addr, port, err := serviceAddress(alloc, node, d.svc.PortLabel, d.svc.AddressMode, d.task)
		if err != nil {
			ar.logger.Warn("service not registered", "service", d.svc.Name, "error", err)
			continue
		}
		if d.svc.Address != "" {
			addr = d.svc.Address
		}
		r := &structs.ServiceRegistration{
			ID:          id,
			ServiceName: d.svc.Name,
			Namespace:   alloc.Namespace,
			NodeID:      alloc.NodeID,
			JobID:       alloc.JobID,
			AllocID:     alloc.ID,
			Tags:        append([]string(nil), d.svc.Tags...),
			Address:     addr,
			Port:        port,
		}
		if r.Namespace == "" {
			r.Namespace = structs.DefaultNamespace
		}
		if node != nil {
			r.Datacenter = node.Datacenter
			if r.NodeID == "" {
				r.NodeID = node.ID
			}
		}
		if len(d.check) > 0 {
			if sm.pendingLocked(d) {
				// Registered once its checks have a result, so that a
				// restored client does not flap a passing instance.
				continue
			}
			r.Status = structs.CheckPassing
			for _, c := range d.check {
				if res := sm.results[c.id]; res == nil || res.Status != structs.CheckPassing {
					if res == nil || res.Status != structs.CheckWarning {
						r.Status = structs.CheckCritical
					}
				}
			}
		}
		out[id] = r
	}
	return out
}

// pendingLocked reports whether a service's checks have not all run yet.
func (sm *serviceManager) pendingLocked(d *serviceDef) bool {
	for _, c := range d.check {
		if res := sm.results[c.id]; res == nil || res.Status == structs.CheckPending {
			return true
		}
	}
	return false
}

// serviceAddress resolves a port label (or a number) to the address and
// port a service or check is reached at.
func serviceAddress(a *structs.Allocation, node *structs.Node, label, mode, task string) (string, int, error) {
	fallback := "127.0.0.1"
	if node != nil && node.Attributes["unique.network.ip-address"] != "" {
		fallback = node.Attributes["unique.network.ip-address"]
	}
	if label == "" {
		return fallback, 0, nil
	}
	if n, err := strconv.Atoi(label); err == nil {
		return fallback, n, nil
	}
	for _, p := range taskenv.Ports(a, task) {
		if p.Label != label {
			continue
		}
		addr := p.HostIP
		if addr == "" {
			addr = fallback
		}
		if mode == structs.AddressModeAlloc {
			// In bridge mode the allocation has an address of its own.
			if ns := a.NetworkStatus; ns != nil && ns.Address != "" {
				addr = ns.Address
			}
			if p.To > 0 {
				return addr, p.To, nil
			}
		}
		return addr, p.Value, nil
	}
	return "", 0, fmt.Errorf("%w: %q", errNoPort, label)
}

// runCheck runs one check every interval until ctx ends, recording
// results and restarting the task per check_restart.
func (sm *serviceManager) runCheck(ctx context.Context, d *serviceDef, c *checkDef) {
	ar := sm.ar
	interval := c.def.Interval
	if interval <= 0 {
		interval = defaultCheckInterval
	}
	rc := &restartCounter{policy: c.def.CheckRestart}
	th := &checkThresholds{successes: c.def.SuccessBeforePassing, failures: c.def.FailuresBeforeCritical}
	exec := func(ctx context.Context, task string, cmd []string, timeout time.Duration) (int, []byte, error) {
		res, err := ar.ExecTask(ctx, task, cmd, timeout)
		if err != nil {
			return 0, nil, err
		}
		code := 0
		if res.ExitResult != nil {
			code = res.ExitResult.ExitCode
		}
		return code, append(res.Stdout, res.Stderr...), nil
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		ar.mu.Lock()
		alloc := ar.withNetworkLocked(ar.alloc)
		ar.mu.Unlock()
		label := c.def.PortLabel
		if label == "" {
			label = d.svc.PortLabel
		}
		mode := checkAddressMode(c.def, d.svc, alloc)
		var status, output string
		var code int
		addr, port, err := serviceAddress(alloc, ar.cfg.Node(), label, mode, d.task)
		if err != nil && c.def.Type != "script" {
			status, output = structs.CheckCritical, err.Error()
		} else {
			status, code, output = runCheck(ctx, c.def, checkTarget{addr: addr, port: port}, c.task, exec)
		}
		if ctx.Err() != nil {
			return
		}
		status = th.apply(sm.status(c.id), status)
		sm.record(c.id, status, code, output)
		if c.restartTask != "" {
			ar.mu.Lock()
			var started time.Time
			if ts := ar.states[c.restartTask]; ts != nil && ts.State == structs.TaskStateRunning {
				started = ts.StartedAt
			}
			ar.mu.Unlock()
			if rc.observe(status, time.Now(), started) {
				ar.restartForCheck(c.restartTask, c.def.Name)
			}
		}
		t.Reset(interval)
	}
}

// status is a check's last reported status.
func (sm *serviceManager) status(id string) string {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	if res := sm.results[id]; res != nil {
		return res.Status
	}
	return ""
}

// checkAddressMode is the address mode a check is run with: its own, else
// its service's. With expose in a bridge-mode group the client reaches the
// check inside the allocation's namespace, at the allocation's address and
// the port's "to", whether or not the port is mapped on the host.
func checkAddressMode(c *structs.ServiceCheck, svc *structs.Service, alloc *structs.Allocation) string {
	if c.Expose && alloc.GroupNetworkMode() == structs.NetworkModeBridge {
		return structs.AddressModeAlloc
	}
	if c.AddressMode != "" {
		return c.AddressMode
	}
	return svc.AddressMode
}

// record stores a result and, when the status changed, nudges the
// registration goroutine.
func (sm *serviceManager) record(id, status string, code int, output string) {
	sm.mu.Lock()
	res := sm.results[id]
	if res == nil {
		sm.mu.Unlock()
		return
	}
	changed := res.Status != status
	c := *res
	c.Status, c.StatusCode, c.Output, c.Timestamp = status, code, output, time.Now().Unix()
	sm.results[id] = &c
	sm.mu.Unlock()
	if changed {
		sm.ar.logger.Debug("check status", "check", res.Check, "status", status)
		sm.poke()
		// Deployment health follows the checks.
		sm.ar.wake()
	}
}

// checksPassing reports whether every check of the running services
// passes; true without services.
func (sm *serviceManager) checksPassing() bool {
	if sm == nil {
		return true
	}
	sm.mu.Lock()
	defer sm.mu.Unlock()
	for _, d := range sm.active {
		for _, c := range d.check {
			if res := sm.results[c.id]; res == nil || res.Status != structs.CheckPassing {
				return false
			}
		}
	}
	return true
}

// healthUsesChecks reports whether the deployment health of the
// allocation waits for its checks: update.health_check = "checks", the
// default.
func (ar *AllocRunner) healthUsesChecks() bool {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	a := ar.alloc
	if a.Job == nil {
		return false
	}
	u := a.Job.Update
	if tg := a.Job.LookupTaskGroup(a.TaskGroup); tg != nil && tg.Update != nil {
		u = *tg.Update
	}
	return u.HealthCheck == "" || u.HealthCheck == "checks"
}

// checkResults returns copies of the last results.
func (sm *serviceManager) checkResults() map[string]*CheckResult {
	out := map[string]*CheckResult{}
	if sm == nil {
		return out
	}
	sm.mu.Lock()
	defer sm.mu.Unlock()
	for id, r := range sm.results {
		c := *r
		out[id] = &c
	}
	return out
}

// CheckResults returns the last result of each running check, by check ID.
func (ar *AllocRunner) CheckResults() map[string]*CheckResult {
	ar.mu.Lock()
	sm := ar.services
	ar.mu.Unlock()
	return sm.checkResults()
}

// restartForCheck restarts a task whose check failed check_restart's
// limit.
func (ar *AllocRunner) restartForCheck(task, check string) {
	ar.mu.Lock()
	tr := ar.tasks[task]
	live := tr != nil && tr.liveDrv != nil
	ar.mu.Unlock()
	if !live {
		return
	}
	ar.logger.Info("restarting task for failing check", "task", task, "check", check)
	ev := event(structs.TaskRestartSignal, fmt.Sprintf("healthcheck: check %q unhealthy", check))
	ev.RestartReason = ev.Message
	tr.requestRestart(ev)
}

// startServices starts the registration goroutine and returns the function
// that stops it: with remove, after removing the registrations (the
// allocation is done); without, leaving them (the client shuts down and
// the tasks keep running).
func (ar *AllocRunner) startServices(ctx context.Context) func(remove bool) {
	sm := ar.services
	if sm == nil {
		return func(bool) {}
	}
	ar.wg.Add(1)
	go func() {
		defer ar.wg.Done()
		sm.run(ctx)
	}()
	return sm.stop
}
