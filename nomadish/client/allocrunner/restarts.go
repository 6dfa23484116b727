package allocrunner

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// Default restart policies by job type, as Nomad documents them.
var (
	defaultServiceRestart = structs.RestartPolicy{Attempts: 2, Interval: 30 * time.Minute, Delay: 15 * time.Second, Mode: structs.RestartPolicyModeFail}
	defaultBatchRestart   = structs.RestartPolicy{Attempts: 3, Interval: 24 * time.Hour, Delay: 15 * time.Second, Mode: structs.RestartPolicyModeFail}
)

// Restart reasons shown in task events.
const (
	reasonWithinPolicy  = "Restart within policy"
	reasonUnrecoverable = "Error was unrecoverable"
)

// restartDecision says what to do after a task exited or failed to start.
type restartDecision struct {
	restart bool
	delay   time.Duration
	// failed marks the task failed when it is not restarted.
	failed bool
	reason string
}

// restartTracker applies a restart policy. It is used by one task runner
// goroutine only.
type restartTracker struct {
	policy structs.RestartPolicy
	// batch is true for batch jobs and ephemeral lifecycle tasks, whose
	// successful exit ends them.
	batch     bool
	count     int
	startTime time.Time
	// jitter adds up to 25% to delays; tests turn it off.
	jitter bool
}

func newRestartTracker(p *structs.RestartPolicy, jobType string, task *structs.Task) *restartTracker {
	rt := &restartTracker{jitter: true}
	switch jobType {
	case structs.JobTypeBatch, structs.JobTypeSysBatch:
		rt.batch = true
		rt.policy = defaultBatchRestart
	default:
		rt.policy = defaultServiceRestart
	}
	if p != nil {
		rt.policy = *p
	}
	if rt.policy.Mode == "" {
		rt.policy.Mode = structs.RestartPolicyModeFail
	}
	if lc := task.Lifecycle; lc != nil && !lc.Sidecar {
		rt.batch = true
	}
	return rt
}

// next decides after an exit (exit != nil) or a start failure (startErr).
func (rt *restartTracker) next(now time.Time, exit *drivers.ExitResult, startErr error, recoverable bool) restartDecision {
	if startErr == nil && exit != nil && exit.Successful() && rt.batch {
		return restartDecision{}
	}
	if startErr != nil && !recoverable {
		return restartDecision{failed: true, reason: reasonUnrecoverable}
	}
	if rt.startTime.IsZero() || now.After(rt.startTime.Add(rt.policy.Interval)) {
		rt.startTime = now
		rt.count = 0
	}
	rt.count++
	if rt.count > rt.policy.Attempts {
		if rt.policy.Mode == structs.RestartPolicyModeFail {
			return restartDecision{failed: true, reason: fmt.Sprintf("Exceeded allowed attempts %d in interval %v and mode is %q", rt.policy.Attempts, rt.policy.Interval, rt.policy.Mode)}
		}
		delay := rt.startTime.Add(rt.policy.Interval).Sub(now)
		rt.startTime = now.Add(delay)
		rt.count = 0
		return restartDecision{restart: true, delay: delay, reason: fmt.Sprintf("Exceeded allowed attempts %d in interval %v and mode is %q", rt.policy.Attempts, rt.policy.Interval, rt.policy.Mode)}
	}
	return restartDecision{restart: true, delay: rt.jittered(rt.policy.Delay), reason: reasonWithinPolicy}
}

func (rt *restartTracker) jittered(d time.Duration) time.Duration {
	if !rt.jitter || d <= 0 {
		return d
	}
	return d + time.Duration(rand.Int64N(int64(d)/4+1))
}
