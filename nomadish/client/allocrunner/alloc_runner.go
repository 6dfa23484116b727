package allocrunner

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/nomadish/client/allocdir"
	"github.com/nomadish/nomadish/nomadish/client/network"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// Config is what an AllocRunner needs.
type Config struct {
	// Logger is scoped by the runner with the alloc ID.
	Logger hclog.Logger
	// Alloc is the allocation as the server sent it (or as restored).
	Alloc *structs.Allocation
	// Node returns the current node, for interpolation. Called from task
	// runner goroutines.
	Node func() *structs.Node
	// Region of the client.
	Region string
	// AllocRoot is the directory holding allocation directories.
	AllocRoot string
	// Drivers hands out driver plugins.
	Drivers Drivers
	// State persists the allocation and its tasks.
	State StateDB
	// OnUpdate receives the allocation's client-side fields (ID,
	// ClientStatus, ClientDescription, TaskStates, DeploymentStatus) each time
	// they change. It is called from the runner's goroutine and must not
	// block.
	OnUpdate func(*structs.Allocation)
	// Restore re-attaches to the tasks persisted in State instead of
	// starting them.
	Restore bool
	// Services registers the allocation's built-in services and answers
	// templates' service lookups; nil runs without them.
	Services ServiceClient
	// ArtifactHostFiles lets file artifact sources read host paths
	// outside the allocation directory.
	ArtifactHostFiles bool
	// Network makes the namespace of a group in bridge or none network
	// mode; nil fails such allocations.
	Network Network
	// NetworkHook, when set, is called from Run once the namespace of a
	// bridge- or none-mode group is set up (after a client restart, the
	// namespace that already exists) and before any task starts or is
	// re-attached, so that it can open sockets there (the client's
	// upstream listeners). The func it returns, if not nil, is called once
	// from Run when every task is dead, before the namespace is removed,
	// or when Run stops with the client. Neither may block for long.
	NetworkHook func(ar *AllocRunner, st *network.Status) (done func())
}

// AllocRunner runs one allocation.
type AllocRunner struct {
	cfg      *Config
	logger   hclog.Logger
	allocDir *allocdir.AllocDir

	// allocSaved is closed once the allocation is in the state store.
	allocSaved chan struct{}
	// wakeCh nudges the coordinator after any state change.
	wakeCh chan struct{}
	// healthCh nudges the deployment health watcher.
	healthCh chan struct{}
	waitCh   chan struct{}
	wg       sync.WaitGroup

	mu      sync.Mutex
	alloc   *structs.Allocation
	states  map[string]*structs.TaskState
	tasks   map[string]*taskRunner
	order   []string
	started map[string]bool
	// killing is set when the allocation is being stopped; killEvent is
	// the event each task gets before its kill.
	killing   bool
	killEvent func() *structs.TaskEvent
	// mainDone is set once every main task is dead.
	mainDone   bool
	lastStatus string
	version    uint64
	sentVer    uint64
	// services registers and checks the allocation's services; nil when
	// it has none.
	services *serviceManager
	// jobChanged is set when an update brings a newer job version (an
	// in-place update); Run then renders the templates again.
	jobChanged bool
	// netStatus is the group's network namespace, nil in host mode.
	netStatus *network.Status
}

// New creates a runner. It does not start anything.
func New(cfg *Config) (*AllocRunner, error) {
	a := cfg.Alloc
	if a.Job == nil {
		return nil, fmt.Errorf("alloc %s has no job", a.ID)
	}
	tg := a.Job.LookupTaskGroup(a.TaskGroup)
	if tg == nil {
		return nil, fmt.Errorf("alloc %s: task group %q not in job", a.ID, a.TaskGroup)
	}
	ar := &AllocRunner{
		cfg:        cfg,
		logger:     cfg.Logger.With("alloc_id", a.ID),
		allocDir:   allocdir.New(cfg.AllocRoot, a.ID),
		wakeCh:     make(chan struct{}, 1),
		healthCh:   make(chan struct{}, 1),
		allocSaved: make(chan struct{}),
		waitCh:     make(chan struct{}),
		alloc:      a.Copy(),
		states:     map[string]*structs.TaskState{},
		tasks:      map[string]*taskRunner{},
		started:    map[string]bool{},
	}
	for _, t := range tg.Tasks {
		policy := tg.RestartPolicy
		if t.RestartPolicy != nil {
			policy = t.RestartPolicy
		}
		tr := newTaskRunner(ar, t, a.Job.Type, policy)
		ar.tasks[t.Name] = tr
		ar.order = append(ar.order, t.Name)
		ts := &structs.TaskState{State: structs.TaskStatePending}
		if cfg.Restore {
			saved, h, err := cfg.State.Task(a.ID, t.Name)
			if err != nil {
				return nil, fmt.Errorf("restore task %s: %w", t.Name, err)
			}
			if saved != nil {
				ts = saved
				tr.setupDone = true
			}
			if h != nil && h.Config != nil {
				tr.restore = h
			}
		} else if prev := a.TaskStates[t.Name]; prev != nil {
			ts = copyTaskState(prev)
		}
		ar.states[t.Name] = ts
	}
	ar.services = newServiceManager(ar)
	return ar, nil
}

// AllocID returns the allocation's ID.
func (ar *AllocRunner) AllocID() string { return ar.cfg.Alloc.ID }

// AllocDir returns the allocation's directory layout.
func (ar *AllocRunner) AllocDir() *allocdir.AllocDir { return ar.allocDir }

// WaitCh is closed when Run has returned.
func (ar *AllocRunner) WaitCh() <-chan struct{} { return ar.waitCh }

// Alloc returns a copy of the allocation with the client's view of its
// status and task states.
func (ar *AllocRunner) Alloc() *structs.Allocation {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	a := ar.alloc.Copy()
	a.TaskStates = ar.copyStatesLocked()
	a.ClientStatus, a.ClientDescription = clientStatus(a.TaskStates)
	if ns := ar.allocNetworkStatusLocked(); ns != nil {
		a.NetworkStatus = ns
	}
	return a
}

// TaskState returns a copy of one task's state, or nil.
func (ar *AllocRunner) TaskState(task string) *structs.TaskState {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	if ts := ar.states[task]; ts != nil {
		return copyTaskState(ts)
	}
	return nil
}

// AllocModifyIndex is the index of the server version the runner has.
func (ar *AllocRunner) AllocModifyIndex() uint64 {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	return ar.alloc.AllocModifyIndex
}

// Update hands the runner a newer server version of the allocation. A
// desired status of stop or evict kills its tasks.
func (ar *AllocRunner) Update(a *structs.Allocation) {
	ar.mu.Lock()
	job, health, deployment := ar.alloc.Job, ar.alloc.DeploymentStatus, ar.alloc.DeploymentID
	ar.alloc = a.Copy()
	if ar.alloc.Job == nil {
		ar.alloc.Job = job
	} else if job != nil && (a.Job.Version != job.Version || a.Job.JobModifyIndex != job.JobModifyIndex) {
		ar.jobChanged = true
	}
	// The server may not have applied the health this client reported yet.
	if ds := ar.alloc.DeploymentStatus; a.DeploymentID != "" && a.DeploymentID == deployment &&
		health != nil && health.Healthy != nil && (ds == nil || ds.Healthy == nil) {
		ar.alloc.DeploymentStatus = health
	}
	stop := a.DesiredStatus == structs.AllocDesiredStatusStop || a.DesiredStatus == structs.AllocDesiredStatusEvict
	saved := ar.alloc.Copy()
	ar.mu.Unlock()
	if stop {
		ar.Kill()
	} else {
		// A new deployment may need its health judged.
		ar.wake()
	}
	if err := ar.cfg.State.PutAlloc(saved); err != nil {
		ar.logger.Error("persist alloc", "error", err)
	}
}

// DriverEvent records a message the task's driver raised (for example an
// image pull) as a "Driver" task event.
func (ar *AllocRunner) DriverEvent(task, msg string, details map[string]string) {
	ar.mu.Lock()
	_, ok := ar.states[task]
	ar.mu.Unlock()
	if !ok {
		return
	}
	ev := event(structs.TaskDriverMessage, msg)
	ev.DriverMessage = msg
	for k, v := range details {
		ev.Details[k] = v
	}
	ar.appendEvent(task, ev)
}

// Kill stops every task of the allocation. Run returns once they are dead
// and the poststop tasks have run.
func (ar *AllocRunner) Kill() {
	ar.mu.Lock()
	if !ar.killing {
		ar.killing = true
		ar.killEvent = nil
	}
	ar.mu.Unlock()
	ar.wake()
}

func (ar *AllocRunner) wake() {
	select {
	case ar.wakeCh <- struct{}{}:
	default:
	}
	select {
	case ar.healthCh <- struct{}{}:
	default:
	}
}

// Run runs the allocation until every task is dead, or until ctx is
// cancelled, in which case tasks are left running.
func (ar *AllocRunner) Run(ctx context.Context) {
	defer close(ar.waitCh)
	// Every path out of Run waits for the goroutines it started.
	defer ar.wg.Wait()
	if ar.cfg.Restore {
		close(ar.allocSaved)
	} else {
		// Persisted alongside the task starts; task writes wait for it.
		ar.mu.Lock()
		saved := ar.alloc.Copy()
		ar.mu.Unlock()
		ar.wg.Add(1)
		go func() {
			defer ar.wg.Done()
			defer close(ar.allocSaved)
			if err := ar.cfg.State.PutAlloc(saved); err != nil {
				ar.logger.Error("persist alloc", "error", err)
			}
		}()
	}
	ar.mu.Lock()
	terminal := ar.alloc.DesiredStatus != structs.AllocDesiredStatusRun && ar.alloc.DesiredStatus != ""
	ar.mu.Unlock()

	if terminal && !ar.anyHandle() {
		if ar.cfg.Restore {
			// The client may have died before removing the network.
			ar.teardownNetwork(ctx)
		}
		// Stopped before it ever ran here: nothing to do but report.
		ar.mu.Lock()
		for _, name := range ar.order {
			ts := ar.states[name]
			if ts.State != structs.TaskStateDead {
				ts.State = structs.TaskStateDead
			}
			ar.started[name] = true
		}
		ar.version++
		ar.mu.Unlock()
		ar.sendUpdate()
		return
	}

	if !ar.cfg.Restore {
		for _, name := range ar.order {
			ar.appendEvent(name, event(structs.TaskReceived, "Task received by client"))
		}
	}
	if err := ar.allocDir.Build(ar.order); err != nil {
		ar.logger.Error("build alloc dir", "error", err)
		ar.failAll(fmt.Sprintf("failed to build alloc dir: %v", err))
		ar.sendUpdate()
		return
	}
	if err := ar.setupNetwork(ctx); err != nil {
		if ctx.Err() != nil {
			return
		}
		ar.logger.Error("set up network", "error", err)
		// Restored tasks that still run keep running; only new starts
		// need the namespace, and they fail without it.
		if !ar.cfg.Restore || !ar.anyHandle() {
			ar.failAll(fmt.Sprintf("failed to set up network: %v", err))
			ar.sendUpdate()
			return
		}
	}

	closeNetwork := ar.networkReady()
	defer closeNetwork()

	hw := &healthWatch{}
	defer hw.stop()
	stopServices := ar.startServices(ctx)

	// Restored tasks: dead ones stay dead, ones with a handle re-attach now.
	ar.mu.Lock()
	for _, name := range ar.order {
		tr := ar.tasks[name]
		switch {
		case ar.states[name].State == structs.TaskStateDead:
			ar.started[name] = true
		case tr.restore != nil:
			ar.startTaskLocked(ctx, name)
		}
	}
	ar.mu.Unlock()

	for {
		ar.superviseHealth(ctx, hw)
		done := ar.step(ctx)
		ar.refreshTemplates(ctx)
		ar.services.supervise(ctx)
		ar.sendUpdate()
		if done {
			break
		}
		select {
		case <-ar.wakeCh:
		case <-ctx.Done():
			stopServices(false)
			ar.wg.Wait()
			return
		}
	}
	stopServices(true)
	hw.stop()
	ar.wg.Wait()
	closeNetwork()
	ar.teardownNetwork(ctx)
	ar.sendUpdate()
}

// refreshTemplates, after an in-place update, renders the templates of
// the tasks that already rendered them again with the new job version.
// Called from Run's goroutine, which owns the goroutines it starts.
func (ar *AllocRunner) refreshTemplates(ctx context.Context) {
	ar.mu.Lock()
	if !ar.jobChanged || ar.killing {
		ar.mu.Unlock()
		return
	}
	ar.jobChanged = false
	alloc := ar.alloc.Copy()
	var trs []*taskRunner
	for _, name := range ar.order {
		if tr := ar.tasks[name]; len(tr.task.Templates) > 0 && ar.states[name].State != structs.TaskStateDead {
			trs = append(trs, tr)
		}
	}
	ar.mu.Unlock()
	for _, tr := range trs {
		ar.wg.Add(1)
		go func() {
			defer ar.wg.Done()
			if err := tr.refreshTemplates(ctx, alloc); err != nil {
				tr.logger.Warn("re-render templates after job update", "error", err)
			}
		}()
	}
}

func (ar *AllocRunner) anyHandle() bool {
	for _, tr := range ar.tasks {
		if tr.restore != nil {
			return true
		}
	}
	return false
}

// failAll marks every task dead and failed with a setup failure.
func (ar *AllocRunner) failAll(msg string) {
	for _, name := range ar.order {
		ev := event(structs.TaskSetupFailure, msg)
		ev.FailsTask = true
		ar.updateTask(name, true, func(ts *structs.TaskState) {
			ts.State = structs.TaskStateDead
			ts.Failed = true
			ts.FinishedAt = time.Now()
		}, ev)
	}
}

// Task roles by lifecycle.
const (
	rolePrestart = iota
	rolePrestartSidecar
	roleMain
	rolePoststart
	rolePoststartSidecar
	rolePoststop
)

func role(t *structs.Task) int {
	lc := t.Lifecycle
	if lc == nil || lc.Hook == "" {
		return roleMain
	}
	switch lc.Hook {
	case structs.TaskLifecycleHookPrestart:
		if lc.Sidecar {
			return rolePrestartSidecar
		}
		return rolePrestart
	case structs.TaskLifecycleHookPoststart:
		if lc.Sidecar {
			return rolePoststartSidecar
		}
		return rolePoststart
	case structs.TaskLifecycleHookPoststop:
		return rolePoststop
	}
	return roleMain
}

// step starts and kills task runners as the lifecycle dictates. It returns
// true when every task is dead and nothing is left to start.
func (ar *AllocRunner) step(ctx context.Context) bool {
	ar.mu.Lock()
	defer ar.mu.Unlock()

	dead := func(n string) bool { return ar.states[n].State == structs.TaskStateDead }
	failed := func(n string) bool { return dead(n) && ar.states[n].Failed }

	var mains []string
	for _, n := range ar.order {
		if role(ar.tasks[n].task) == roleMain {
			mains = append(mains, n)
		}
	}

	if !ar.killing {
		for _, n := range ar.order {
			tr := ar.tasks[n]
			if role(tr.task) != rolePoststop && failed(n) {
				ar.killing = true
				ar.killEvent = func() *structs.TaskEvent {
					ev := event(structs.TaskSiblingFailed, fmt.Sprintf("Task's sibling %q failed", n))
					ev.Details["failed_sibling"] = n
					return ev
				}
				break
			}
			if tr.task.Leader && dead(n) {
				ar.killing = true
				ar.killEvent = func() *structs.TaskEvent {
					return event(structs.TaskLeaderDead, "Leader Task in Group dead")
				}
				break
			}
		}
	}
	if !ar.killing && !ar.mainDone && len(mains) > 0 {
		all := true
		for _, n := range mains {
			all = all && dead(n)
		}
		ar.mainDone = all
	}

	if ar.killing || ar.mainDone {
		// Stop everything but poststop tasks; then run poststop tasks.
		allStopped := true
		for _, n := range ar.order {
			tr := ar.tasks[n]
			if role(tr.task) == rolePoststop {
				continue
			}
			if !ar.started[n] {
				ar.started[n] = true
				if !dead(n) {
					ar.states[n].State = structs.TaskStateDead
					ar.states[n].FinishedAt = time.Now()
					ar.version++
				}
				continue
			}
			if dead(n) {
				continue
			}
			allStopped = false
			// Once the main tasks are done, ephemeral poststart tasks may finish.
			if !ar.killing && role(tr.task) == rolePoststart {
				continue
			}
			ar.killTaskLocked(tr)
		}
		if allStopped {
			for _, n := range ar.order {
				if role(ar.tasks[n].task) == rolePoststop && !ar.started[n] {
					ar.startTaskLocked(ctx, n)
				}
			}
		}
		return allStopped && ar.allDeadLocked()
	}

	prestartReady := true
	for _, n := range ar.order {
		switch role(ar.tasks[n].task) {
		case rolePrestart:
			ar.startTaskLocked(ctx, n)
			prestartReady = prestartReady && dead(n) && !failed(n)
		case rolePrestartSidecar:
			ar.startTaskLocked(ctx, n)
			prestartReady = prestartReady && (ar.states[n].State == structs.TaskStateRunning || dead(n))
		}
	}
	if !prestartReady {
		return false
	}
	mainsRunning := true
	for _, n := range mains {
		ar.startTaskLocked(ctx, n)
		mainsRunning = mainsRunning && (!ar.states[n].StartedAt.IsZero() || dead(n))
	}
	if mainsRunning {
		for _, n := range ar.order {
			if r := role(ar.tasks[n].task); r == rolePoststart || r == rolePoststartSidecar {
				ar.startTaskLocked(ctx, n)
			}
		}
	}
	if len(mains) == 0 {
		// A group of only lifecycle tasks ends when those are dead.
		return ar.allDeadLocked()
	}
	return false
}

func (ar *AllocRunner) allDeadLocked() bool {
	for _, n := range ar.order {
		if !ar.started[n] || ar.states[n].State != structs.TaskStateDead {
			return false
		}
	}
	for _, tr := range ar.tasks {
		if !tr.launched {
			continue
		}
		select {
		case <-tr.doneCh:
		default:
			return false
		}
	}
	return true
}

func (ar *AllocRunner) startTaskLocked(ctx context.Context, name string) {
	if ar.started[name] {
		return
	}
	ar.started[name] = true
	tr := ar.tasks[name]
	tr.launched = true
	ar.wg.Add(1)
	go func() {
		defer ar.wg.Done()
		tr.run(ctx)
	}()
}

func (ar *AllocRunner) killTaskLocked(tr *taskRunner) {
	if tr.killed() {
		return
	}
	ts := ar.states[tr.task.Name]
	if ar.killEvent != nil {
		addEvent(ts, ar.killEvent())
	}
	kev := event(structs.TaskKilling, fmt.Sprintf("Sent interrupt. Waiting %v before force killing", tr.killTimeout()))
	kev.KillTimeout = tr.killTimeout()
	addEvent(ts, kev)
	ar.version++
	tr.kill()
}

// updateTask mutates a task's state, records ev, optionally persists, and
// wakes the coordinator.
func (ar *AllocRunner) updateTask(name string, persist bool, mutate func(*structs.TaskState), ev *structs.TaskEvent) {
	ar.mu.Lock()
	ts := ar.states[name]
	if mutate != nil {
		mutate(ts)
	}
	if ev != nil {
		addEvent(ts, ev)
	}
	ar.version++
	var saved *structs.TaskState
	if persist {
		saved = copyTaskState(ts)
	}
	ar.mu.Unlock()
	ar.wake()
	if saved != nil {
		<-ar.allocSaved
		if err := ar.cfg.State.PutTask(ar.cfg.Alloc.ID, name, saved, nil, false); err != nil {
			ar.logger.Error("persist task state", "task", name, "error", err)
		}
	}
}

func (ar *AllocRunner) appendEvent(name string, ev *structs.TaskEvent) {
	ar.updateTask(name, false, nil, ev)
}

// persistTask stores (or clears) a task's driver handle with its state.
func (ar *AllocRunner) persistTask(name string, h *drivers.TaskHandle, clear bool) {
	ar.mu.Lock()
	ts := copyTaskState(ar.states[name])
	ar.mu.Unlock()
	<-ar.allocSaved
	if err := ar.cfg.State.PutTask(ar.cfg.Alloc.ID, name, ts, h, clear); err != nil {
		ar.logger.Error("persist task handle", "task", name, "error", err)
	}
}

func addEvent(ts *structs.TaskState, ev *structs.TaskEvent) {
	ts.Events = append(ts.Events, ev)
	if n := len(ts.Events); n > maxTaskEvents {
		ts.Events = append([]*structs.TaskEvent(nil), ts.Events[n-maxTaskEvents:]...)
	}
}

// sendUpdate reports the client-side fields if anything changed.
func (ar *AllocRunner) sendUpdate() {
	ar.mu.Lock()
	if ar.version == ar.sentVer && ar.sentVer != 0 {
		ar.mu.Unlock()
		return
	}
	ar.sentVer = ar.version
	states := ar.copyStatesLocked()
	status, desc := clientStatus(states)
	u := &structs.Allocation{
		ID:                ar.alloc.ID,
		NodeID:            ar.alloc.NodeID,
		JobID:             ar.alloc.JobID,
		Namespace:         ar.alloc.Namespace,
		TaskGroup:         ar.alloc.TaskGroup,
		ClientStatus:      status,
		ClientDescription: desc,
		TaskStates:        states,
		DeploymentStatus:  ar.alloc.DeploymentStatus,
		NetworkStatus:     ar.allocNetworkStatusLocked(),
	}
	if status != ar.lastStatus {
		ar.logger.Debug("alloc status", "status", status)
		ar.lastStatus = status
	}
	ar.mu.Unlock()
	if ar.cfg.OnUpdate != nil {
		ar.cfg.OnUpdate(u)
	}
}

func (ar *AllocRunner) copyStatesLocked() map[string]*structs.TaskState {
	out := make(map[string]*structs.TaskState, len(ar.states))
	for k, v := range ar.states {
		out[k] = copyTaskState(v)
	}
	return out
}

func copyTaskState(ts *structs.TaskState) *structs.TaskState {
	c := *ts
	c.Events = append([]*structs.TaskEvent(nil), ts.Events...)
	return &c
}
