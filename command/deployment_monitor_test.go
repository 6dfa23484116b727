package command

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitchellh/cli"

	"github.com/nomadish/nomadish/nomadish/api"
	"github.com/nomadish/nomadish/nomadish/structs"
)

const (
	deployID   = "d1e2f3a4-5b6c-4d7e-8f90-a1b2c3d4e5f6"
	rollbackID = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
)

// testDeployment is a deployment of the cache group in the given state.
func testDeployment(id, status string, placed, healthy, unhealthy int) *structs.Deployment {
	desc := map[string]string{
		structs.DeploymentStatusRunning:    structs.DeploymentDescRunning,
		structs.DeploymentStatusSuccessful: structs.DeploymentDescSuccessful,
		structs.DeploymentStatusFailed:     structs.DeploymentDescFailedAllocations,
	}[status]
	return &structs.Deployment{
		ID: id, Namespace: "default", JobID: jobID, Status: status, StatusDescription: desc, CreateIndex: 5,
		TaskGroups: map[string]*structs.DeploymentState{"cache": {
			DesiredTotal: 3, PlacedAllocs: placed, HealthyAllocs: healthy, UnhealthyAllocs: unhealthy,
		}},
	}
}

// deploymentAgent serves /v1/deployment/:id from a list of states, one
// per read (the last one stays), and /v1/job/:id/deployment.
type deploymentAgent struct {
	mu     sync.Mutex
	index  uint64
	steps  map[string][]*structs.Deployment
	latest *structs.Deployment
}

func (f *deploymentAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.index++
	w.Header().Set("X-Nomad-Index", strconv.FormatUint(f.index, 10))
	var out any
	switch {
	case strings.HasPrefix(r.URL.Path, "/v1/deployment/allocations/"):
		out = []*structs.AllocListStub{}
	case strings.HasPrefix(r.URL.Path, "/v1/deployment/"):
		id := strings.TrimPrefix(r.URL.Path, "/v1/deployment/")
		steps := f.steps[id]
		if len(steps) == 0 {
			http.Error(w, "deployment not found", 404)
			return
		}
		out = steps[0]
		if len(steps) > 1 {
			f.steps[id] = steps[1:]
		}
	case r.URL.Path == "/v1/job/"+jobID+"/deployment":
		out = f.latest
	default:
		http.Error(w, "unexpected "+r.URL.Path, 404)
		return
	}
	_ = json.NewEncoder(w).Encode(out)
}

func testDeploymentMonitor(t *testing.T, f *deploymentAgent, ui cli.Ui) *deploymentMonitor {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client, err := api.NewClient(&api.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	m := newDeploymentMonitor(ui, client, shortID, false)
	m.interval = time.Millisecond
	m.now = func() time.Time { return testNow }
	m.view.(*lineView).now = m.now
	return m
}

func TestDeploymentMonitor_Lines(t *testing.T) {
	running := func(placed, healthy int) *structs.Deployment {
		return testDeployment(deployID, structs.DeploymentStatusRunning, placed, healthy, 0)
	}
	failed := testDeployment(deployID, structs.DeploymentStatusFailed, 3, 1, 2)
	failed.StatusDescription += " - rolling back to job version 0"
	rollback := testDeployment(rollbackID, structs.DeploymentStatusSuccessful, 3, 3, 0)
	rollback.CreateIndex = 9

	tests := []struct {
		name       string
		steps      map[string][]*structs.Deployment
		latest     *structs.Deployment
		wantStatus string
		wantOut    string
	}{
		{
			name: "success, a line per change",
			steps: map[string][]*structs.Deployment{deployID: {
				running(0, 0), running(0, 0), running(3, 0), running(3, 0), running(3, 2),
				testDeployment(deployID, structs.DeploymentStatusSuccessful, 3, 3, 0),
			}},
			wantStatus: structs.DeploymentStatusSuccessful,
			wantOut: `==> <time>: Monitoring deployment "d1e2f3a4"
    <time>: Deployment "d1e2f3a4" running: Deployment is running
    <time>: Task Group "cache": Desired 3, Placed 0, Healthy 0, Unhealthy 0
    <time>: Task Group "cache": Desired 3, Placed 3, Healthy 0, Unhealthy 0
    <time>: Task Group "cache": Desired 3, Placed 3, Healthy 2, Unhealthy 0
    <time>: Deployment "d1e2f3a4" successful: Deployment completed successfully
    <time>: Task Group "cache": Desired 3, Placed 3, Healthy 3, Unhealthy 0
==> <time>: ✓ Deployment "d1e2f3a4" successful

    ID          = d1e2f3a4
    Job ID      = example
    Job Version = 0
    Status      = successful
    Description = Deployment completed successfully

    Deployed
    Task Group  Desired  Placed  Healthy  Unhealthy  Progress Deadline
    cache       3        3       3        0          N/A

`,
		},
		{
			name:       "failure rolls back, and the rollback is followed",
			steps:      map[string][]*structs.Deployment{deployID: {running(3, 1), failed}, rollbackID: {rollback}},
			latest:     rollback,
			wantStatus: structs.DeploymentStatusFailed,
			wantOut: `==> <time>: Monitoring deployment "d1e2f3a4"
    <time>: Deployment "d1e2f3a4" running: Deployment is running
    <time>: Task Group "cache": Desired 3, Placed 3, Healthy 1, Unhealthy 0
    <time>: Deployment "d1e2f3a4" failed: Failed due to unhealthy allocations - rolling back to job version 0
    <time>: Task Group "cache": Desired 3, Placed 3, Healthy 1, Unhealthy 2
==> <time>: ! Deployment "d1e2f3a4" failed
`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ui := cli.NewMockUi()
			m := testDeploymentMonitor(t, &deploymentAgent{steps: tc.steps, latest: tc.latest}, ui)
			status, err := m.monitor(context.Background(), deployID)
			if err != nil || status != tc.wantStatus {
				t.Errorf("monitor() = %q, %v, want %q", status, err, tc.wantStatus)
			}
			if got := stamps(ui.OutputWriter.String()); !strings.HasPrefix(got, tc.wantOut) {
				t.Errorf("output =\n%s\nwant it to start with\n%s", got, tc.wantOut)
			}
		})
	}
}

func TestDeploymentMonitor_RollbackFollowed(t *testing.T) {
	failed := testDeployment(deployID, structs.DeploymentStatusFailed, 3, 1, 2)
	failed.StatusDescription += " - rolling back to job version 0"
	rollback := testDeployment(rollbackID, structs.DeploymentStatusSuccessful, 3, 3, 0)
	rollback.CreateIndex = 9
	ui := cli.NewMockUi()
	m := testDeploymentMonitor(t, &deploymentAgent{
		steps:  map[string][]*structs.Deployment{deployID: {failed}, rollbackID: {rollback}},
		latest: rollback,
	}, ui)
	status, err := m.monitor(context.Background(), deployID)
	if err != nil || status != structs.DeploymentStatusFailed {
		t.Errorf("monitor() = %q, %v, want failed (the run failed, whatever the rollback did)", status, err)
	}
	out := stamps(ui.OutputWriter.String())
	for _, want := range []string{`! Deployment "d1e2f3a4" failed`, `Monitoring deployment "0f1e2d3c"`, `✓ Deployment "0f1e2d3c" successful`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestDeploymentMonitor_NotFound(t *testing.T) {
	ui := cli.NewMockUi()
	m := testDeploymentMonitor(t, &deploymentAgent{steps: map[string][]*structs.Deployment{}}, ui)
	if _, err := m.monitor(context.Background(), deployID); err == nil {
		t.Fatal("monitor(unknown deployment) error = nil, want one")
	}
	if got := ui.ErrorWriter.String(); !strings.Contains(got, "Error fetching deployment") {
		t.Errorf("stderr = %q, want the fetch error", got)
	}
}

// fakeTerminal interprets what a terminal view writes: text, newlines,
// carriage returns, cursor up and down (ESC [ n A, ESC [ n B), clear to
// the end of the line (ESC [ K) and of the screen (ESC [ J). Lines wider
// than width wrap, as on a terminal.
type fakeTerminal struct {
	width    int
	lines    [][]rune
	row, col int
}

func (ft *fakeTerminal) Write(p []byte) (int, error) {
	s := []rune(string(p))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\x1b' && i+1 < len(s) && s[i+1] == '[':
			j := i + 2
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			n, _ := strconv.Atoi(string(s[i+2 : j]))
			switch s[j] {
			case 'A':
				ft.row = max(0, ft.row-n)
			case 'B':
				ft.row += n
			case 'K':
				ft.ensure()
				ft.lines[ft.row] = ft.lines[ft.row][:min(ft.col, len(ft.lines[ft.row]))]
			case 'J':
				ft.ensure()
				ft.lines[ft.row] = ft.lines[ft.row][:min(ft.col, len(ft.lines[ft.row]))]
				ft.lines = ft.lines[:ft.row+1]
			}
			i = j
		case c == '\r':
			ft.col = 0
		case c == '\n':
			ft.row++
			ft.col = 0
		default:
			if ft.col == ft.width {
				ft.row++
				ft.col = 0
			}
			ft.ensure()
			line := ft.lines[ft.row]
			for len(line) <= ft.col {
				line = append(line, ' ')
			}
			line[ft.col] = c
			ft.lines[ft.row] = line
			ft.col++
		}
	}
	return len(p), nil
}

func (ft *fakeTerminal) ensure() {
	for len(ft.lines) <= ft.row {
		ft.lines = append(ft.lines, nil)
	}
}

// screen is what the terminal shows.
func (ft *fakeTerminal) screen() string {
	var b strings.Builder
	for _, l := range ft.lines {
		b.WriteString(strings.TrimRight(string(l), " "))
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}

// syncWriter lets the spinner and the test write and read in turn.
type syncWriter struct {
	mu  sync.Mutex
	raw bytes.Buffer
	ft  *fakeTerminal
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.raw.Write(p)
	return w.ft.Write(p)
}

func TestTTYView_RedrawsInPlace(t *testing.T) {
	w := &syncWriter{ft: &fakeTerminal{width: 120}}
	v := newTTYView(w, func() (int, int) { return 50, 120 }, shortID, false, func() time.Time { return testNow })
	v.start(deployID)
	for _, d := range []*structs.Deployment{
		testDeployment(deployID, structs.DeploymentStatusRunning, 0, 0, 0),
		testDeployment(deployID, structs.DeploymentStatusRunning, 3, 0, 0),
	} {
		v.show(d, nil)
	}
	// Let the spinner turn at least once.
	deadline := time.Now().Add(5 * time.Second)
	for {
		w.mu.Lock()
		turned := strings.Contains(w.raw.String(), spinnerFrames[1])
		mid := w.ft.screen()
		w.mu.Unlock()
		if turned {
			if strings.Count(mid, "Task Group") != 1 || !strings.Contains(mid, `Deployment "d1e2f3a4" in progress...`) {
				t.Errorf("screen while running =\n%s\nwant one table under the spinner", mid)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the spinner did not turn within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	v.end(testDeployment(deployID, structs.DeploymentStatusSuccessful, 3, 3, 0), nil)
	v.close()

	want := `==> 2026-01-02T03:04:05Z: Monitoring deployment "d1e2f3a4"
  ✓ Deployment "d1e2f3a4" successful

    2026-01-02T03:04:05Z
    ID          = d1e2f3a4
    Job ID      = example
    Job Version = 0
    Status      = successful
    Description = Deployment completed successfully

    Deployed
    Task Group  Desired  Placed  Healthy  Unhealthy  Progress Deadline
    cache       3        3       3        0          N/A`
	if got := w.ft.screen(); got != want {
		t.Errorf("final screen =\n%s\nwant\n%s", got, want)
	}
	if n := strings.Count(w.raw.String(), "\x1b[J"); n < 4 {
		t.Errorf("%d redraws, want at least 4 (start, two updates, end)", n)
	}
}

func TestTTYView_CutsLinesToTheWidth(t *testing.T) {
	w := &syncWriter{ft: &fakeTerminal{width: 30}}
	v := newTTYView(w, func() (int, int) { return 50, 30 }, fullID, false, func() time.Time { return testNow })
	v.start(deployID)
	v.show(testDeployment(deployID, structs.DeploymentStatusRunning, 1, 0, 0), nil)
	v.show(testDeployment(deployID, structs.DeploymentStatusRunning, 2, 0, 0), nil)
	v.end(testDeployment(deployID, structs.DeploymentStatusFailed, 2, 0, 2), nil)
	v.close()
	screen := w.ft.screen()
	// Without the cut, wrapped lines would leave parts of older frames.
	if n := strings.Count(screen, "Deployed"); n != 1 {
		t.Errorf("screen shows %d tables, want 1:\n%s", n, screen)
	}
	if !strings.Contains(screen, "  ! Deployment \"d1e2f3a4-5b6c") || !strings.Contains(screen, "Status      = failed") {
		t.Errorf("screen =\n%s\nwant the failed end line and status", screen)
	}
}

func TestTTYView_FitsTheHeight(t *testing.T) {
	w := &syncWriter{ft: &fakeTerminal{width: 120}}
	v := newTTYView(w, func() (int, int) { return 8, 120 }, shortID, false, func() time.Time { return testNow })
	v.start(deployID)
	v.show(testDeployment(deployID, structs.DeploymentStatusRunning, 1, 0, 0), nil)
	v.show(testDeployment(deployID, structs.DeploymentStatusRunning, 2, 0, 0), nil)
	v.close()
	for _, m := range regexp.MustCompile(`\x1b\[(\d+)A`).FindAllStringSubmatch(w.raw.String(), -1) {
		if n, _ := strconv.Atoi(m[1]); n > 7 {
			t.Errorf("moved up %d lines on an 8-line terminal, want at most 7", n)
		}
	}
	if screen := w.ft.screen(); strings.Count(screen, "ID          =") != 1 || !strings.HasSuffix(screen, "    ...") {
		t.Errorf("screen =\n%s\nwant one frame cut to the height", screen)
	}
}
