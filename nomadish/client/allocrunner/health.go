package allocrunner

import (
	"context"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// Update strategy defaults used for health, as Nomad documents them.
const (
	defaultMinHealthyTime  = 10 * time.Second
	defaultHealthyDeadline = 5 * time.Minute
	healthCheckManual      = "manual"
)

// healthParams returns the min healthy time and deadline for an alloc in a
// deployment, and false when the client does not judge its health.
func healthParams(a *structs.Allocation) (minHealthy, deadline time.Duration, ok bool) {
	if a.DeploymentID == "" || a.Job == nil {
		return 0, 0, false
	}
	if ds := a.DeploymentStatus; ds != nil && ds.Healthy != nil {
		return 0, 0, false
	}
	u := a.Job.Update
	if tg := a.Job.LookupTaskGroup(a.TaskGroup); tg != nil && tg.Update != nil {
		u = *tg.Update
	}
	if u.HealthCheck == healthCheckManual {
		return 0, 0, false
	}
	minHealthy, deadline = u.MinHealthyTime, u.HealthyDeadline
	if minHealthy <= 0 {
		minHealthy = defaultMinHealthyTime
	}
	if deadline <= 0 {
		deadline = defaultHealthyDeadline
	}
	return minHealthy, deadline, true
}

// healthWatch is the running health watcher of one deployment; only the
// alloc runner's coordinator touches it.
type healthWatch struct {
	deployment string
	cancel     context.CancelFunc
	done       chan struct{}
}

func (hw *healthWatch) stop() {
	if hw.cancel != nil {
		hw.cancel()
		<-hw.done
		hw.cancel = nil
	}
}

// superviseHealth starts a health watcher when the allocation joins a
// deployment whose health the client judges, replacing one for an earlier
// deployment.
func (ar *AllocRunner) superviseHealth(ctx context.Context, hw *healthWatch) {
	ar.mu.Lock()
	minHealthy, deadline, judge := healthParams(ar.alloc)
	deployment := ar.alloc.DeploymentID
	ar.mu.Unlock()
	if !judge || deployment == hw.deployment {
		return
	}
	hw.stop()
	hctx, cancel := context.WithCancel(ctx)
	hw.deployment, hw.cancel, hw.done = deployment, cancel, make(chan struct{})
	done := hw.done
	ar.wg.Add(1)
	go func() {
		defer ar.wg.Done()
		defer close(done)
		ar.watchHealth(hctx, minHealthy, deadline)
	}()
}

// healthState judges the task states: healthy-so-far means every task that
// should be running is running and every prestart task that should have
// finished has finished successfully; failed means a task failed.
func (ar *AllocRunner) healthState() (allRunning, failed bool) {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	allRunning = true
	for _, n := range ar.order {
		ts := ar.states[n]
		if ts.Failed {
			return false, true
		}
		switch role(ar.tasks[n].task) {
		case rolePoststop, rolePoststart:
			// Not part of the running group's health.
		case rolePrestart:
			if ts.State != structs.TaskStateDead {
				allRunning = false
			}
		default:
			if ts.State != structs.TaskStateRunning {
				allRunning = false
			}
		}
	}
	return allRunning, false
}

// watchHealth sets the allocation's deployment health from its task
// states: healthy after every task has run for minHealthy, unhealthy when
// a task fails or the deadline passes first.
func (ar *AllocRunner) watchHealth(ctx context.Context, minHealthy, deadline time.Duration) {
	dl := time.NewTimer(deadline)
	defer dl.Stop()
	var since time.Time
	var healthyTimer *time.Timer
	var healthyC <-chan time.Time
	stopHealthy := func() {
		if healthyTimer != nil {
			healthyTimer.Stop()
			healthyTimer, healthyC = nil, nil
		}
	}
	defer stopHealthy()
	useChecks := ar.healthUsesChecks()
	for {
		running, failed := ar.healthState()
		if running && useChecks {
			running = ar.services.checksPassing()
		}
		switch {
		case failed:
			ar.setHealth(false)
			return
		case !running:
			since = time.Time{}
			stopHealthy()
		case since.IsZero():
			since = time.Now()
			healthyTimer = time.NewTimer(minHealthy)
			healthyC = healthyTimer.C
		}
		select {
		case <-ctx.Done():
			// The runner is finishing: a failure it raced with still counts.
			if _, failed := ar.healthState(); failed {
				ar.setHealth(false)
			}
			return
		case <-ar.healthCh:
		case <-healthyC:
			ar.setHealth(true)
			return
		case <-dl.C:
			ar.setHealth(false)
			return
		}
	}
}

func (ar *AllocRunner) setHealth(healthy bool) {
	ar.mu.Lock()
	ds := &structs.AllocDeploymentStatus{Healthy: &healthy, Timestamp: time.Now()}
	if old := ar.alloc.DeploymentStatus; old != nil {
		ds.Canary = old.Canary
		ds.ModifyIndex = old.ModifyIndex
	}
	ar.alloc.DeploymentStatus = ds
	ar.version++
	ar.mu.Unlock()
	ar.logger.Debug("alloc deployment health", "healthy", healthy)
	ar.wake()
}
