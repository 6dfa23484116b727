package command

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mitchellh/cli"

	"github.com/nomadish/nomadish/nomadish/api"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// Defaults of the evaluation monitor.
const (
	// monitorInterval is the least time between two reads of an evaluation
	// when the agent answers without blocking.
	monitorInterval = time.Second
	// monitorWait bounds each blocking read.
	monitorWait = 10 * time.Second
)

// evalMonitor follows an evaluation until it finishes, printing what changes
// as Nomad's CLI does: "==> time: ..." headlines and "    time: ..." details.
type evalMonitor struct {
	ui       cli.Ui
	client   *api.Client
	length   int
	interval time.Duration
	now      func() time.Time

	// seen holds the last printed state.
	seen monitorState
	// deployment is the last deployment an evaluation of the chain
	// belonged to.
	deployment string
}

// monitorState is what the monitor last reported.
type monitorState struct {
	status     string
	job        string
	node       string
	deployment string
	allocs     map[string]string
}

func newEvalMonitor(ui cli.Ui, client *api.Client, length int) *evalMonitor {
	return &evalMonitor{
		ui: &cli.PrefixedUi{
			InfoPrefix:   "==> ",
			OutputPrefix: "    ",
			ErrorPrefix:  "==> ",
			Ui:           ui,
		},
		client:   client,
		length:   length,
		interval: monitorInterval,
		now:      time.Now,
	}
}

func (m *evalMonitor) stamp(msg string) string {
	return fmt.Sprintf("%s: %s", formatTime(m.now()), msg)
}

func (m *evalMonitor) info(format string, args ...any) {
	m.ui.Info(m.stamp(fmt.Sprintf(format, args...)))
}

func (m *evalMonitor) output(format string, args ...any) {
	m.ui.Output(m.stamp(fmt.Sprintf(format, args...)))
}

// monitor follows evalID, and the evaluations it chains to, until they are
// terminal. It returns 0 when all went well, 2 when some allocations could
// not be placed and 1 when the evaluation could not be read.
func (m *evalMonitor) monitor(ctx context.Context, evalID string) int {
	placementFailed := false
	for evalID != "" {
		next, failed, err := m.follow(ctx, evalID)
		if err != nil {
			m.ui.Error(err.Error())
			return 1
		}
		placementFailed = placementFailed || failed
		evalID = next
	}
	if placementFailed {
		return 2
	}
	return 0
}

// follow monitors one evaluation and returns the one it chains to.
func (m *evalMonitor) follow(ctx context.Context, evalID string) (next string, failed bool, err error) {
	m.seen = monitorState{status: structs.EvalStatusPending, allocs: map[string]string{}}
	m.info("Monitoring evaluation %q", limit(evalID, m.length))

	var index uint64
	for {
		start := time.Now()
		q := (&api.QueryOptions{WaitIndex: index, WaitTime: monitorWait}).WithContext(ctx)
		eval, qm, err := m.client.Evaluations().Info(evalID, q)
		if err != nil {
			return "", false, fmt.Errorf("%s: Error reading evaluation: %s", formatTime(m.now()), err)
		}
		allocs, _, err := m.client.Evaluations().Allocations(evalID, (&api.QueryOptions{}).WithContext(ctx))
		if err != nil {
			return "", false, fmt.Errorf("%s: Error reading allocations: %s", formatTime(m.now()), err)
		}
		m.update(eval, allocs)

		if eval.TerminalStatus() {
			failed = m.finish(eval)
			if eval.NextEval != "" && eval.Wait > 0 {
				m.info("Monitoring next evaluation %q in %s", limit(eval.NextEval, m.length), eval.Wait)
				if err := sleepCtx(ctx, eval.Wait); err != nil {
					return "", failed, err
				}
			}
			return eval.NextEval, failed, nil
		}

		// An agent that does not block answers at once with the same
		// index: pace the reads instead of spinning.
		if qm.LastIndex <= index || qm.LastIndex == 0 {
			if err := sleepCtx(ctx, m.interval-time.Since(start)); err != nil {
				return "", false, err
			}
		}
		index = qm.LastIndex
	}
}

// update prints what changed since the last read.
func (m *evalMonitor) update(eval *api.Evaluation, allocs []*api.AllocationListStub) {
	if m.seen.node == "" && eval.NodeID != "" {
		m.output("Evaluation triggered by node %q", limit(eval.NodeID, m.length))
		m.seen.node = eval.NodeID
	}
	if m.seen.job == "" && eval.JobID != "" {
		m.output("Evaluation triggered by job %q", eval.JobID)
		m.seen.job = eval.JobID
	}
	if eval.DeploymentID != "" {
		m.deployment = eval.DeploymentID
	}
	if m.seen.deployment == "" && eval.DeploymentID != "" {
		m.output("Evaluation within deployment: %q", limit(eval.DeploymentID, m.length))
		m.seen.deployment = eval.DeploymentID
	}
	for _, a := range allocs {
		prev, known := m.seen.allocs[a.ID]
		switch {
		case !known && a.CreateIndex < eval.CreateIndex:
			m.output("Allocation %q modified: node %q, group %q",
				limit(a.ID, m.length), limit(a.NodeID, m.length), a.TaskGroup)
		case !known && a.DesiredStatus == structs.AllocDesiredStatusRun:
			m.output("Allocation %q created: node %q, group %q",
				limit(a.ID, m.length), limit(a.NodeID, m.length), a.TaskGroup)
		case known && prev != a.ClientStatus:
			desc := ""
			if a.ClientDescription != "" {
				desc = fmt.Sprintf(" (%s)", a.ClientDescription)
			}
			m.output("Allocation %q status changed: %q -> %q%s",
				limit(a.ID, m.length), prev, a.ClientStatus, desc)
		}
		m.seen.allocs[a.ID] = a.ClientStatus
	}
	if eval.Status != m.seen.status && eval.Status != structs.EvalStatusPending {
		m.output("Evaluation status changed: %q -> %q", m.seen.status, eval.Status)
		m.seen.status = eval.Status
	}
}

// finish prints the outcome of a terminal evaluation and reports whether
// some allocations could not be placed.
func (m *evalMonitor) finish(eval *api.Evaluation) bool {
	if len(eval.FailedTGAllocs) == 0 {
		m.info("Evaluation %q finished with status %q", limit(eval.ID, m.length), eval.Status)
		return false
	}
	m.info("Evaluation %q finished with status %q but failed to place all allocations:",
		limit(eval.ID, m.length), eval.Status)
	for _, tg := range sortedKeys(eval.FailedTGAllocs) {
		metrics := eval.FailedTGAllocs[tg]
		n := 1
		if metrics != nil {
			n += metrics.CoalescedFailures
		}
		noun := "allocation"
		if n > 1 {
			noun += "s"
		}
		m.output("Task Group %q (failed to place %d %s):", tg, n, noun)
		if text := formatAllocMetrics(metrics, "  "); text != "" {
			for _, line := range strings.Split(text, "\n") {
				m.ui.Output(line)
			}
		}
	}
	if eval.BlockedEval != "" {
		m.output("Evaluation %q waiting for additional capacity to place remainder",
			limit(eval.BlockedEval, m.length))
	}
	return true
}

// sleepCtx waits for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
