package allocrunner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/nomadish/client/artifact"
	"github.com/nomadish/nomadish/nomadish/client/taskenv"
	"github.com/nomadish/nomadish/nomadish/client/template"
	"github.com/nomadish/nomadish/nomadish/structs"
)

const (
	// defaultKillTimeout is Nomad's kill_timeout default.
	defaultKillTimeout = 5 * time.Second
	// maxTaskEvents bounds the events kept per task.
	maxTaskEvents = 10
	// reattachAttempts bounds re-attaching to a task after its plugin died.
	reattachAttempts = 5
)

// setupError is a failure to prepare a task that retrying cannot fix,
// such as a template that does not render.
type setupError struct {
	// what is the event's description, as Nomad words it: "Template failed".
	what string
	err  error
}

func (e *setupError) Error() string { return strings.ToLower(e.what) + ": " + e.err.Error() }
func (e *setupError) Unwrap() error { return e.err }

// Artifact event types, as Nomad names them.
const (
	taskDownloadingArtifacts   = "Downloading Artifacts"
	taskArtifactDownloadFailed = "Failed Artifact Download"
)

// artifactError is a failed artifact download; the restart policy applies.
type artifactError struct{ err error }

func (e *artifactError) Error() string { return "fetch artifact: " + e.err.Error() }
func (e *artifactError) Unwrap() error { return e.err }

// exitOutcome says why waiting on a task ended.
type exitOutcome int

const (
	outcomeExited exitOutcome = iota
	outcomeKilled
	outcomeShutdown
	outcomeRestart
)

// taskRunner runs one task through its driver. Its run goroutine is owned by
// the alloc runner.
type taskRunner struct {
	ar     *AllocRunner
	task   *structs.Task
	logger hclog.Logger

	killOnce sync.Once
	killCh   chan struct{}
	doneCh   chan struct{}
	// restartCh asks for a restart outside the restart policy.
	restartCh chan struct{}

	// liveDrv and liveID name the running task; guarded by the alloc
	// runner's lock, nil/empty when no task is running.
	liveDrv drivers.DriverPlugin
	liveID  string

	// restore is the handle to re-attach to, when restored from state.
	restore   *drivers.TaskHandle
	tracker   *restartTracker
	caps      *drivers.Capabilities
	setupDone bool
	// artifactsDone is set once the task's artifacts are fetched.
	artifactsDone bool
	// launched is set, under the alloc runner's lock, when run was started.
	launched bool
	// templates re-render the task's templates as services change.
	templates templateState
}

func newTaskRunner(ar *AllocRunner, task *structs.Task, jobType string, policy *structs.RestartPolicy) *taskRunner {
	return &taskRunner{
		ar:        ar,
		task:      task,
		logger:    ar.logger.With("task", task.Name),
		killCh:    make(chan struct{}),
		doneCh:    make(chan struct{}),
		restartCh: make(chan struct{}, 1),
		tracker:   newRestartTracker(policy, jobType, task),
	}
}

func (tr *taskRunner) setLive(drv drivers.DriverPlugin, id string) {
	tr.ar.mu.Lock()
	tr.liveDrv, tr.liveID = drv, id
	tr.ar.mu.Unlock()
}

// kill asks the task to stop; the alloc runner records the events.
func (tr *taskRunner) kill() {
	tr.killOnce.Do(func() { close(tr.killCh) })
}

func (tr *taskRunner) killed() bool {
	select {
	case <-tr.killCh:
		return true
	default:
		return false
	}
}

func (tr *taskRunner) killTimeout() time.Duration {
	if tr.task.KillTimeout > 0 {
		return tr.task.KillTimeout
	}
	return defaultKillTimeout
}

// run is the task's life: start, wait, restart per policy, until it is dead,
// killed, or ctx is cancelled (client shutdown: the task keeps running).
func (tr *taskRunner) run(ctx context.Context) {
	// Deferred in this order so doneCh is closed before the wake-up.
	defer tr.ar.wake()
	defer close(tr.doneCh)

	if h := tr.restore; h != nil {
		tr.restore = nil
		drv, err := tr.recover(ctx, h)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			tr.logger.Info("re-attached to task", "task_id", h.Config.ID)
			if done := tr.afterStart(ctx, drv, h); done {
				return
			}
		} else {
			tr.logger.Warn("could not re-attach to task, starting it again", "error", err)
			tr.ar.persistTask(tr.task.Name, nil, true)
		}
	}

	for {
		if tr.killed() {
			tr.setDead(false, killedEvent(""))
			return
		}
		if !tr.setupDone {
			tr.setupDone = true
			tr.ar.appendEvent(tr.task.Name, event(structs.TaskSetup, "Building Task Directory"))
		}
		drv, h, err := tr.start(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			tr.logger.Error("start task", "error", err)
			var setupErr *setupError
			if errors.As(err, &setupErr) {
				ev := event(structs.TaskSetupFailure, setupErr.what+": "+setupErr.err.Error())
				ev.FailsTask = true
				tr.ar.appendEvent(tr.task.Name, ev)
				tr.afterExit(ctx, tr.tracker.next(time.Now(), nil, err, false))
				return
			}
			var artErr *artifactError
			if errors.As(err, &artErr) {
				tr.ar.appendEvent(tr.task.Name, event(taskArtifactDownloadFailed, artErr.err.Error()))
			} else {
				ev := event(structs.TaskDriverFailure, "failed to start task: "+err.Error())
				ev.DriverError = err.Error()
				tr.ar.appendEvent(tr.task.Name, ev)
			}
			if done := tr.afterExit(ctx, tr.tracker.next(time.Now(), nil, err, true)); done {
				return
			}
			continue
		}
		if done := tr.afterStart(ctx, drv, h); done {
			return
		}
	}
}

// recover re-attaches to a restored task. Errors other than "task not
// found" are retried a few times first: starting the task again while it
// still runs would run it twice.
func (tr *taskRunner) recover(ctx context.Context, h *drivers.TaskHandle) (drivers.DriverPlugin, error) {
	var err error
	for attempt := 0; attempt < reattachAttempts; attempt++ {
		if attempt > 0 && !sleepCtx(ctx, tr.killCh, time.Duration(attempt)*200*time.Millisecond) && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var drv drivers.DriverPlugin
		drv, err = tr.ar.cfg.Drivers.Driver(ctx, tr.task.Driver)
		if err == nil {
			if err = drv.RecoverTask(ctx, h); err == nil {
				return drv, nil
			}
		}
		if errors.Is(err, drivers.ErrTaskNotFound) || ctx.Err() != nil {
			return nil, err
		}
		tr.logger.Warn("re-attach to task failed", "error", err, "attempt", attempt+1)
	}
	return nil, err
}

// afterStart marks the task running, waits for it, and decides what next.
// It returns true when the task runner is done.
func (tr *taskRunner) afterStart(ctx context.Context, drv drivers.DriverPlugin, h *drivers.TaskHandle) bool {
	res, outcome, drv := tr.wait(ctx, drv, h)
	tr.setLive(nil, "")
	// A restart asked for as the task ended is moot.
	select {
	case <-tr.restartCh:
	default:
	}
	switch outcome {
	case outcomeShutdown:
		return true
	case outcomeKilled:
		tr.destroy(ctx, drv, h, true)
		tr.setDead(false, killedEvent(res.Err))
		return true
	case outcomeRestart:
		tr.destroy(ctx, drv, h, true)
		return tr.afterExit(ctx, restartDecision{restart: true, reason: "User requested restart"})
	}
	ev := event(structs.TaskTerminated, fmt.Sprintf("Exit Code: %d", res.ExitCode))
	ev.ExitCode, ev.Signal = res.ExitCode, res.Signal
	ev.Details["exit_code"] = strconv.Itoa(res.ExitCode)
	ev.Details["signal"] = strconv.Itoa(res.Signal)
	if res.Signal != 0 {
		ev.DisplayMessage = fmt.Sprintf("Exit Code: %d, Signal: %d", res.ExitCode, res.Signal)
	}
	if res.OOMKilled {
		ev.Details["oom_killed"] = "true"
		ev.DisplayMessage += ", OOM Killed"
	}
	if res.Err != "" {
		ev.Details["err"] = res.Err
		ev.DisplayMessage += ", Exit Message: " + res.Err
	}
	ev.Message = ev.DisplayMessage
	tr.ar.appendEvent(tr.task.Name, ev)
	tr.destroy(ctx, drv, h, false)
	return tr.afterExit(ctx, tr.tracker.next(time.Now(), res, nil, true))
}

// afterExit applies a restart decision. It returns true when the task is dead.
func (tr *taskRunner) afterExit(ctx context.Context, d restartDecision) bool {
	if tr.killed() {
		tr.setDead(false, killedEvent(""))
		return true
	}
	if !d.restart {
		var ev *structs.TaskEvent
		if d.failed {
			ev = event(structs.TaskNotRestarting, d.reason)
			ev.FailsTask = true
			ev.RestartReason = d.reason
		}
		tr.setDead(d.failed, ev)
		return true
	}
	ev := event(structs.TaskRestarting, fmt.Sprintf("Task restarting in %v", d.delay))
	ev.StartDelay = int64(d.delay)
	ev.RestartReason = d.reason
	now := time.Now()
	tr.ar.updateTask(tr.task.Name, true, func(ts *structs.TaskState) {
		ts.State = structs.TaskStatePending
		ts.Restarts++
		ts.LastRestart = now
	}, ev)
	if d.delay <= 0 {
		return false
	}
	t := time.NewTimer(d.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return false
	case <-tr.killCh:
		tr.setDead(false, killedEvent(""))
		return true
	case <-ctx.Done():
		return true
	}
}

func (tr *taskRunner) setDead(failed bool, ev *structs.TaskEvent) {
	now := time.Now()
	tr.ar.updateTask(tr.task.Name, true, func(ts *structs.TaskState) {
		ts.State = structs.TaskStateDead
		ts.Failed = ts.Failed || failed
		ts.FinishedAt = now
	}, ev)
}

func killedEvent(killErr string) *structs.TaskEvent {
	ev := event(structs.TaskKilled, "Task successfully killed")
	if killErr != "" {
		ev.KillError = killErr
		ev.DisplayMessage = "Task killed with error: " + killErr
		ev.Message = ev.DisplayMessage
	}
	return ev
}

// start builds the task's config and starts it.
func (tr *taskRunner) start(ctx context.Context) (drivers.DriverPlugin, *drivers.TaskHandle, error) {
	drv, err := tr.ar.cfg.Drivers.Driver(ctx, tr.task.Driver)
	if err != nil {
		return nil, nil, fmt.Errorf("driver %q: %w", tr.task.Driver, err)
	}
	if tr.caps == nil {
		caps, err := drv.Capabilities(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("driver %q capabilities: %w", tr.task.Driver, err)
		}
		tr.caps = caps
	}
	cfg, err := tr.buildConfig(ctx)
	if err != nil {
		return nil, nil, err
	}
	h, err := drv.StartTask(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	if h.Config == nil {
		h.Config = cfg
	}
	tr.setLive(drv, h.Config.ID)
	now := time.Now()
	// Report running first; the handle and state are then written in one
	// transaction, off the path of the status update.
	tr.ar.updateTask(tr.task.Name, false, func(ts *structs.TaskState) {
		ts.State = structs.TaskStateRunning
		ts.StartedAt = now
		ts.FinishedAt = time.Time{}
	}, event(structs.TaskStarted, "Task started by client"))
	tr.ar.persistTask(tr.task.Name, h, false)
	return drv, h, nil
}

// taskFor returns the task as alloc's job version defines its meta. An
// in-place update changes nothing else about a task, so the rest comes from
// the definition the runner was created with.
func (tr *taskRunner) taskFor(alloc *structs.Allocation) *structs.Task {
	if alloc.Job == nil {
		return tr.task
	}
	tg := alloc.Job.LookupTaskGroup(alloc.TaskGroup)
	if tg == nil {
		return tr.task
	}
	t := tg.LookupTask(tr.task.Name)
	if t == nil {
		return tr.task
	}
	c := *tr.task
	c.Meta = t.Meta
	return &c
}

// buildConfig assembles the driver's TaskConfig with the interpolated
// environment and task config.
func (tr *taskRunner) buildConfig(ctx context.Context) (*drivers.TaskConfig, error) {
	ar := tr.ar
	alloc := ar.Alloc()
	ad := ar.allocDir
	td := ad.TaskDir(tr.task.Name)
	dirs := taskenv.Dirs{AllocDir: ad.SharedDir, TaskDir: td.LocalDir, SecretsDir: td.SecretsDir}
	isolated := tr.caps != nil && tr.caps.FSIsolation != "" && tr.caps.FSIsolation != "none"
	if isolated {
		dirs = taskenv.Dirs{AllocDir: "/alloc", TaskDir: "/local", SecretsDir: "/secrets"}
	}
	netIso, err := ar.networkIsolation()
	if err != nil {
		return nil, &setupError{what: "Network failed", err: err}
	}
	in := taskenv.Input{
		Node:         ar.cfg.Node(),
		Region:       ar.cfg.Region,
		Alloc:        alloc,
		Task:         tr.taskFor(alloc),
		Dirs:         dirs,
		HostEnv:      !isolated || tr.caps.FSIsolation == "chroot",
		AllocNetwork: alloc.NetworkStatus,
	}
	env := taskenv.Build(in)
	if len(tr.task.Artifacts) > 0 && !tr.artifactsDone {
		tr.ar.appendEvent(tr.task.Name, event(taskDownloadingArtifacts, "Client is downloading artifacts"))
		for _, a := range tr.task.Artifacts {
			if err := artifact.Fetch(ctx, a, artifact.Paths{AllocDir: ad.AllocDir, TaskDir: td.Dir, HostFiles: tr.ar.cfg.ArtifactHostFiles}, env.ReplaceEnv); err != nil {
				return nil, &artifactError{err}
			}
		}
		tr.artifactsDone = true
	}
	if dp := tr.task.DispatchPayload; dp != nil && dp.File != "" && alloc.Job != nil && len(alloc.Job.Payload) > 0 {
		if err := writePayload(td.LocalDir, dp.File, alloc.Job.Payload); err != nil {
			return nil, &setupError{what: "Dispatch payload failed", err: err}
		}
	}
	if len(tr.task.Templates) > 0 {
		added, err := tr.renderTemplates(ctx, template.Paths{AllocDir: ad.AllocDir, TaskDir: td.Dir}, in, env)
		if err != nil {
			return nil, &setupError{what: "Template failed", err: err}
		}
		for k, v := range added {
			env.Set(k, v)
		}
	}
	driverCfg, err := json.Marshal(env.ReplaceConfig(tr.task.Config))
	if err != nil {
		return nil, fmt.Errorf("encode task config: %w", err)
	}
	res := &drivers.Resources{}
	if a := alloc.AllocatedResources; a != nil {
		if t := a.Tasks[tr.task.Name]; t != nil {
			res.CPUShares = t.Cpu.CpuShares
			res.Cores = t.Cpu.ReservedCores
			res.MemoryMB = t.Memory.MemoryMB
			res.MemoryMaxMB = t.Memory.MemoryMaxMB
		}
		res.DiskMB = a.Shared.DiskMB
	} else if r := tr.task.Resources; r != nil {
		res.CPUShares = int64(r.CPU)
		res.MemoryMB = int64(r.MemoryMB)
		res.MemoryMaxMB = int64(r.MemoryMaxMB)
	}
	var ports []drivers.PortMapping
	for _, p := range taskenv.Ports(alloc, tr.task.Name) {
		ports = append(ports, drivers.PortMapping{Label: p.Label, Value: p.Value, To: p.To, HostIP: p.HostIP})
	}
	logFiles, logSizeMB := structs.DefaultLogMaxFiles, structs.DefaultLogMaxFileSizeMB
	if lc := tr.task.LogConfig; lc != nil && lc.MaxFiles > 0 && lc.MaxFileSizeMB > 0 {
		logFiles, logSizeMB = lc.MaxFiles, lc.MaxFileSizeMB
	}
	jobName := alloc.JobID
	if alloc.Job != nil && alloc.Job.Name != "" {
		jobName = alloc.Job.Name
	}
	return &drivers.TaskConfig{
		ID:               fmt.Sprintf("%s/%s/%s", alloc.ID, tr.task.Name, structs.GenerateUUID()[:8]),
		JobName:          jobName,
		JobID:            alloc.JobID,
		TaskGroupName:    alloc.TaskGroup,
		Name:             tr.task.Name,
		Namespace:        alloc.Namespace,
		AllocID:          alloc.ID,
		User:             tr.task.User,
		Env:              env.Map(),
		Resources:        res,
		AllocDir:         ad.AllocDir,
		TaskDir:          td.Dir,
		StdoutPath:       ad.LogPath(tr.task.Name, "stdout", 0),
		StderrPath:       ad.LogPath(tr.task.Name, "stderr", 0),
		LogMaxFiles:      logFiles,
		LogMaxFileSizeMB: logSizeMB,
		DriverConfig:     driverCfg,
		KillSignal:       tr.task.KillSignal,
		Ports:            ports,
		NetworkNamespace: netnsPath(netIso),
		NetworkIsolation: netIso,
	}, nil
}

// wait waits for the task to exit, to be killed, or for ctx to end. When
// the plugin dies under it (the wait channel closes, or yields a result with
// Err set), it re-attaches through a freshly loaded plugin; the task itself
// keeps running.
//
// It returns the plugin it ended with, for the caller's DestroyTask.
func (tr *taskRunner) wait(ctx context.Context, drv drivers.DriverPlugin, h *drivers.TaskHandle) (*drivers.ExitResult, exitOutcome, drivers.DriverPlugin) {
	id := h.Config.ID
	tr.setLive(drv, id)
	ch, err := drv.WaitTask(ctx, id)
	attempts := 0
	var lost *drivers.ExitResult
	// reattachedAt is when the last re-attach succeeded: a wait error right
	// after one is the task's real result, not another lost plugin.
	var reattachedAt time.Time
	for {
		if err != nil || ch == nil {
			if ctx.Err() != nil {
				return nil, outcomeShutdown, drv
			}
			if errors.Is(err, drivers.ErrTaskNotFound) || attempts >= reattachAttempts {
				if lost == nil {
					lost = &drivers.ExitResult{ExitCode: -1, Err: fmt.Sprintf("lost task: %v", err)}
				}
				return lost, outcomeExited, drv
			}
			attempts++
			tr.logger.Warn("lost contact with task, re-attaching", "error", err, "attempt", attempts)
			if inv, ok := tr.ar.cfg.Drivers.(DriverInvalidator); ok && drv != nil {
				inv.Invalidate(tr.task.Driver, drv)
			}
			if !sleepCtx(ctx, tr.killCh, time.Duration(attempts)*200*time.Millisecond) && ctx.Err() != nil {
				return nil, outcomeShutdown, drv
			}
			drv, ch, err = tr.reattach(ctx, h)
			if err == nil {
				tr.logger.Info("re-attached to task", "task_id", id)
				reattachedAt = time.Now()
				tr.setLive(drv, id)
			}
			continue
		}
		select {
		case res, ok := <-ch:
			if ctx.Err() != nil {
				return nil, outcomeShutdown, drv
			}
			if !ok || res == nil {
				ch, err = nil, errors.New("wait channel closed")
				continue
			}
			if res.Err != "" && time.Since(reattachedAt) > time.Second {
				lost = res
				ch, err = nil, errors.New(res.Err)
				continue
			}
			return res, outcomeExited, drv
		case <-tr.restartCh:
			if killErr := tr.stop(ctx, drv, id, ch); killErr != "" {
				tr.logger.Warn("stop task for restart", "error", killErr)
			}
			if ctx.Err() != nil {
				return nil, outcomeShutdown, drv
			}
			return nil, outcomeRestart, drv
		case <-tr.killCh:
			killErr := tr.stop(ctx, drv, id, ch)
			if ctx.Err() != nil {
				return nil, outcomeShutdown, drv
			}
			return &drivers.ExitResult{Err: killErr}, outcomeKilled, drv
		case <-ctx.Done():
			return nil, outcomeShutdown, drv
		}
	}
}

func (tr *taskRunner) reattach(ctx context.Context, h *drivers.TaskHandle) (drivers.DriverPlugin, <-chan *drivers.ExitResult, error) {
	drv, err := tr.ar.cfg.Drivers.Driver(ctx, tr.task.Driver)
	if err != nil {
		return nil, nil, err
	}
	if err := drv.RecoverTask(ctx, h); err != nil {
		return drv, nil, err
	}
	ch, err := drv.WaitTask(ctx, h.Config.ID)
	return drv, ch, err
}

// stop runs the kill sequence: shutdown delay, kill signal, kill timeout.
// It returns a kill error to report, if any.
func (tr *taskRunner) stop(ctx context.Context, drv drivers.DriverPlugin, id string, ch <-chan *drivers.ExitResult) string {
	if d := tr.task.ShutdownDelay; d > 0 {
		sleepCtx(ctx, nil, d)
	}
	timeout := tr.killTimeout()
	if err := drv.StopTask(ctx, id, timeout, tr.task.KillSignal); err != nil && !errors.Is(err, drivers.ErrTaskNotFound) {
		return err.Error()
	}
	t := time.NewTimer(timeout + 5*time.Second)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
		return "task did not exit after kill timeout"
	case <-ctx.Done():
	}
	return ""
}

func (tr *taskRunner) destroy(ctx context.Context, drv drivers.DriverPlugin, h *drivers.TaskHandle, force bool) {
	if drv != nil {
		if err := drv.DestroyTask(ctx, h.Config.ID, force); err != nil && !errors.Is(err, drivers.ErrTaskNotFound) {
			tr.logger.Warn("destroy task", "error", err)
		}
	}
	tr.ar.persistTask(tr.task.Name, nil, true)
}

func netnsPath(s *drivers.NetworkIsolationSpec) string {
	if s == nil {
		return ""
	}
	return s.Path
}

// sleepCtx sleeps for d; it returns false when ctx or stop ended it early.
func sleepCtx(ctx context.Context, stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	case <-ctx.Done():
		return false
	}
}

func event(typ, msg string) *structs.TaskEvent {
	ev := structs.NewTaskEvent(typ)
	ev.Message = msg
	ev.DisplayMessage = msg
	return ev
}

// writePayload writes a dispatched job's payload to local/<file>.
func writePayload(localDir, file string, payload []byte) error {
	dest := filepath.Join(localDir, file)
	if rel, err := filepath.Rel(localDir, dest); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("payload file %q escapes the task's local dir", file)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dest, payload, 0o644)
}

// requestRestart records the event that explains a restart and asks the
// task's loop to restart it; a restart already asked for covers this one.
func (tr *taskRunner) requestRestart(ev *structs.TaskEvent) {
	tr.ar.appendEvent(tr.task.Name, ev)
	select {
	case tr.restartCh <- struct{}{}:
	default:
	}
}
