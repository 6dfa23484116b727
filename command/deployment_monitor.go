package command

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mitchellh/cli"

	"github.com/nomadish/nomadish/nomadish/api"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// Defaults of the deployment monitor.
const (
	// deploymentWait bounds each blocking read of the deployment, as
	// Nomad's -wait default.
	deploymentWait = 2 * time.Second
	// spinnerInterval is how often the terminal view redraws its spinner.
	spinnerInterval = 100 * time.Millisecond
	// rollbackWait is how long the monitor looks for the deployment of an
	// automatic rollback once a deployment failed.
	rollbackWait = 5 * time.Second
)

// spinnerFrames are drawn in turn in front of a running deployment.
var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// deploymentMonitor follows a deployment until it succeeds, fails or is
// cancelled, showing per task group the desired, placed, healthy and
// unhealthy allocations. When a failed deployment rolls the job back, the
// deployment of the rollback is followed too.
type deploymentMonitor struct {
	client  *api.Client
	view    deploymentView
	length  int
	verbose bool
	// wait bounds each blocking read; interval paces reads when the agent
	// answers without blocking.
	wait     time.Duration
	interval time.Duration
	now      func() time.Time
}

// deploymentView shows a deployment's progress. The monitor calls it
// from one goroutine.
type deploymentView interface {
	// start announces the deployment about to be followed.
	start(id string)
	// show draws the deployment's latest state.
	show(d *api.Deployment, allocs []*api.AllocationListStub)
	// end draws the final state of the deployment.
	end(d *api.Deployment, allocs []*api.AllocationListStub)
	// fail reports an error that ends the monitor.
	fail(msg string)
	// close stops what the view runs in the background.
	close()
}

// newDeploymentMonitor picks the view: a block redrawn in place under a
// spinner when the Ui writes to a terminal, appended lines otherwise.
func newDeploymentMonitor(ui cli.Ui, client *api.Client, length int, verbose bool) *deploymentMonitor {
	m := &deploymentMonitor{client: client, length: length, verbose: verbose,
		wait: deploymentWait, interval: monitorInterval, now: time.Now}
	if f, ok := terminalOf(ui); ok {
		m.view = newTTYView(f, func() (int, int) {
			rows, cols, err := terminalSize(f)
			if err != nil {
				return 0, 0
			}
			return rows, cols
		}, length, verbose, m.now)
	} else {
		m.view = &lineView{ui: ui, length: length, verbose: verbose, now: m.now}
	}
	return m
}

// terminalOf returns the terminal a Ui prints to, if it prints to one.
func terminalOf(ui cli.Ui) (*os.File, bool) {
	b, ok := ui.(*cli.BasicUi)
	if !ok {
		return nil, false
	}
	f, ok := b.Writer.(*os.File)
	if !ok || !isTerminal(f) {
		return nil, false
	}
	return f, true
}

// monitor follows the deployment and returns its final status; when it
// failed and the job is rolled back, the rollback is followed as well,
// and the status returned is still the failure.
func (m *deploymentMonitor) monitor(ctx context.Context, id string) (string, error) {
	defer m.view.close()
	status, err := m.follow(ctx, id)
	last := status
	seen := map[string]bool{id: true}
	for err == nil && last == structs.DeploymentStatusFailed {
		next, rerr := m.rollback(ctx, id, seen)
		if rerr != nil {
			err = rerr
			break
		}
		if next == "" {
			break
		}
		seen[next] = true
		id = next
		// The rollback's own outcome is shown; the run still failed.
		last, err = m.follow(ctx, next)
	}
	if err != nil {
		m.view.fail(err.Error())
	}
	return status, err
}

// follow monitors one deployment to its end.
func (m *deploymentMonitor) follow(ctx context.Context, id string) (string, error) {
	m.view.start(id)
	var index uint64
	for {
		start := time.Now()
		q := (&api.QueryOptions{WaitIndex: index, WaitTime: m.wait}).WithContext(ctx)
		d, qm, err := m.client.Deployments().Info(id, q)
		if err != nil {
			return "", fmt.Errorf("%s: Error fetching deployment: %s", formatTime(m.now()), err)
		}
		var allocs []*api.AllocationListStub
		if m.verbose {
			allocs, _, err = m.client.Deployments().Allocations(id, (&api.QueryOptions{}).WithContext(ctx))
			if err != nil {
				return "", fmt.Errorf("%s: Error fetching allocations: %s", formatTime(m.now()), err)
			}
			sortAllocStubs(allocs)
		}
		if !d.Active() {
			m.view.end(d, allocs)
			return d.Status, nil
		}
		m.view.show(d, allocs)
		if qm.LastIndex <= index || qm.LastIndex == 0 {
			if err := sleepCtx(ctx, m.interval-time.Since(start)); err != nil {
				return "", err
			}
		}
		index = qm.LastIndex
	}
}

// rollback returns the deployment of the rollback a failed deployment
// started, or "" when it started none. The rollback is committed after
// the failure, so it is looked for during rollbackWait.
func (m *deploymentMonitor) rollback(ctx context.Context, failedID string, seen map[string]bool) (string, error) {
	d, _, err := m.client.Deployments().Info(failedID, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return "", fmt.Errorf("%s: Error fetching deployment: %s", formatTime(m.now()), err)
	}
	if !strings.Contains(d.StatusDescription, "rolling back to job version") {
		return "", nil
	}
	deadline := time.Now().Add(rollbackWait)
	for time.Now().Before(deadline) {
		latest, _, err := m.client.Jobs().LatestDeployment(d.JobID, (&api.QueryOptions{Namespace: d.Namespace}).WithContext(ctx))
		if err != nil {
			return "", fmt.Errorf("%s: Error fetching the deployment of the rollback: %s", formatTime(m.now()), err)
		}
		if latest != nil && !seen[latest.ID] && latest.CreateIndex > d.CreateIndex {
			return latest.ID, nil
		}
		if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
			return "", err
		}
	}
	return "", nil
}

// deploymentGroupLine is one group's progress on one line, for appended
// output.
func deploymentGroupLine(name string, g *api.DeploymentState) string {
	s := fmt.Sprintf("Task Group %q: Desired %d, Placed %d, Healthy %d, Unhealthy %d",
		name, g.DesiredTotal, g.PlacedAllocs, g.HealthyAllocs, g.UnhealthyAllocs)
	if g.DesiredCanaries > 0 {
		s += fmt.Sprintf(", Canaries %d/%d, Promoted %t", len(g.PlacedCanaries), g.DesiredCanaries, g.Promoted)
	}
	return s
}

// deploymentEndLine says how a deployment ended.
func deploymentEndLine(d *api.Deployment, length int) string {
	mark := "!"
	if d.Status == structs.DeploymentStatusSuccessful {
		mark = "✓"
	}
	return fmt.Sprintf("%s Deployment %q %s", mark, limit(d.ID, length), d.Status)
}

// deploymentBlock is the deployment's table, with its allocations when
// verbose.
func deploymentBlock(d *api.Deployment, allocs []*api.AllocationListStub, length int, verbose bool, now time.Time) string {
	s := formatDeployment(d, length)
	if verbose {
		s += "\n\nAllocations\n" + formatAllocListStubs(allocs, true, length, now)
	}
	return s
}

// lineView prints, when stdout is not a terminal, a line for each change
// of the deployment's status or of a group's counts, and the full table
// once the deployment ends.
type lineView struct {
	ui      cli.Ui
	length  int
	verbose bool
	now     func() time.Time

	status string
	groups map[string]string
}

func (v *lineView) stamp(s string) string { return formatTime(v.now()) + ": " + s }

func (v *lineView) start(id string) {
	v.status, v.groups = "", map[string]string{}
	v.ui.Output(fmt.Sprintf("==> %s", v.stamp(fmt.Sprintf("Monitoring deployment %q", limit(id, v.length)))))
}

func (v *lineView) show(d *api.Deployment, _ []*api.AllocationListStub) {
	if d.Status != v.status {
		v.ui.Output("    " + v.stamp(fmt.Sprintf("Deployment %q %s: %s", limit(d.ID, v.length), d.Status, d.StatusDescription)))
		v.status = d.Status
	}
	names := make([]string, 0, len(d.TaskGroups))
	for n := range d.TaskGroups {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		line := deploymentGroupLine(n, d.TaskGroups[n])
		if v.groups[n] != line {
			v.ui.Output("    " + v.stamp(line))
			v.groups[n] = line
		}
	}
}

func (v *lineView) end(d *api.Deployment, allocs []*api.AllocationListStub) {
	v.show(d, allocs)
	v.ui.Output("==> " + v.stamp(deploymentEndLine(d, v.length)))
	v.ui.Output("")
	v.ui.Output(indent(deploymentBlock(d, allocs, v.length, v.verbose, v.now()), "    "))
	v.ui.Output("")
}

func (v *lineView) fail(msg string) { v.ui.Error(msg) }

func (v *lineView) close() {}

// ttyView redraws the deployment's table in place under a spinner, the
// way a terminal shows progress: each frame moves the cursor back to the
// first line of the previous one and clears below before drawing.
type ttyView struct {
	w       io.Writer
	size    func() (rows, cols int)
	length  int
	verbose bool
	now     func() time.Time

	mu      sync.Mutex
	head    string // the line under the spinner, without the spinner
	body    string
	done    bool
	frame   int
	drawn   int // lines of the last frame
	stop    chan struct{}
	stopped sync.WaitGroup
}

func newTTYView(w io.Writer, size func() (rows, cols int), length int, verbose bool, now func() time.Time) *ttyView {
	return &ttyView{w: w, size: size, length: length, verbose: verbose, now: now}
}

func (v *ttyView) start(id string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	// A rollback is drawn below the frame of the failed deployment.
	v.drawn, v.done, v.body = 0, false, ""
	fmt.Fprintf(v.w, "==> %s: Monitoring deployment %q\n", formatTime(v.now()), limit(id, v.length))
	v.head = fmt.Sprintf("Deployment %q in progress...", limit(id, v.length))
	v.draw()
	if v.stop == nil {
		v.stop = make(chan struct{})
		v.stopped.Add(1)
		go v.spin(v.stop)
	}
}

// spin advances the spinner until stop is closed.
func (v *ttyView) spin(stop <-chan struct{}) {
	defer v.stopped.Done()
	t := time.NewTicker(spinnerInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			v.mu.Lock()
			if !v.done {
				v.frame++
				v.drawHead()
			}
			v.mu.Unlock()
		}
	}
}

func (v *ttyView) show(d *api.Deployment, allocs []*api.AllocationListStub) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.body = formatTime(v.now()) + "\n" + deploymentBlock(d, allocs, v.length, v.verbose, v.now())
	v.draw()
}

func (v *ttyView) end(d *api.Deployment, allocs []*api.AllocationListStub) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.body = formatTime(v.now()) + "\n" + deploymentBlock(d, allocs, v.length, v.verbose, v.now())
	v.head = deploymentEndLine(d, v.length)
	v.done = true
	v.draw()
	v.drawn = 0 // the final frame stays
}

func (v *ttyView) fail(msg string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.done = true
	fmt.Fprintf(v.w, "    %s\n", msg)
	v.drawn = 0
}

func (v *ttyView) close() {
	v.mu.Lock()
	stop := v.stop
	v.stop = nil
	v.mu.Unlock()
	if stop != nil {
		close(stop)
		v.stopped.Wait()
	}
}

// headLine is the first line of a frame: the spinner, or the outcome.
func (v *ttyView) headLine() string {
	if v.done {
		return "  " + v.head
	}
	return "  " + spinnerFrames[v.frame%len(spinnerFrames)] + " " + v.head
}

// drawHead redraws only the first line of the frame, for the spinner,
// and puts the cursor back below the frame.
func (v *ttyView) drawHead() {
	if v.drawn == 0 {
		v.draw()
		return
	}
	_, width := v.size()
	_, _ = fmt.Fprintf(v.w, "\x1b[%dA\r\x1b[K%s\r\x1b[%dB", v.drawn, cut(v.headLine(), width), v.drawn)
}

// cut shortens a line to the terminal's width, so that none wraps and
// the count of lines to move back over stays right.
func cut(l string, width int) string {
	if width > 1 {
		if r := []rune(l); len(r) >= width {
			l = string(r[:width-1])
		}
	}
	return strings.TrimRight(l, " ")
}

// draw replaces the previous frame with the current one. A frame taller
// than the terminal is cut, since the cursor cannot move back to lines
// that scrolled off.
func (v *ttyView) draw() {
	lines := []string{v.headLine()}
	if v.body != "" {
		lines = append(lines, "")
		for _, l := range strings.Split(v.body, "\n") {
			lines = append(lines, "    "+l)
		}
	}
	lines = append(lines, "")
	rows, width := v.size()
	if rows > 2 && len(lines) > rows-1 {
		lines = append(lines[:rows-2], "    ...")
	}
	var b strings.Builder
	if v.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", v.drawn)
	}
	b.WriteString("\r\x1b[J")
	for _, l := range lines {
		b.WriteString(cut(l, width))
		b.WriteString("\n")
	}
	_, _ = io.WriteString(v.w, b.String())
	v.drawn = len(lines)
}

// indent puts prefix in front of every non-empty line of s.
func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}
