//go:build e2e

// Package deploymonitor runs `nomadish job run` and `deployment status
// -monitor` against a dev agent and checks the live deployment view:
// lines per change when stdout is not a terminal, a block redrawn in
// place when it is one, and Nomad's exit codes.
package deploymonitor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

var jobFile = filepath.Join("input", "web.nomad.hcl")

var deploymentRe = regexp.MustCompile(`Monitoring deployment "([0-9a-f]{8})"`)

func TestJobRunMonitorsDeployment(t *testing.T) {
	a := e2eutil.StartDevAgent(t, "")

	// Not a terminal: a line per change, the table at the end, exit 0.
	start := time.Now()
	out, errOut, code := a.CLI("job", "run", jobFile)
	t.Logf("job run took %s", time.Since(start).Round(time.Millisecond))
	if code != 0 {
		t.Fatalf("job run exit = %d, want 0\n%s\n%s", code, out, errOut)
	}
	m := deploymentRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("job run did not monitor a deployment:\n%s", out)
	}
	id := m[1]
	for _, want := range []string{
		`Evaluation within deployment: "` + id + `"`,
		`Task Group "web": Desired 2, Placed 2, Healthy 2, Unhealthy 0`,
		`==> `, `✓ Deployment "` + id + `" successful`,
		"Deployed\n    Task Group  Desired  Placed  Healthy  Unhealthy  Progress Deadline\n    web         2        2       2        0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("job run output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("job run output to a pipe has escape sequences:\n%q", out)
	}
	var prev string
	for _, line := range strings.Split(out, "\n") {
		body := line
		if i := strings.Index(line, ": "); i >= 0 {
			body = line[i+2:]
		}
		if strings.HasPrefix(body, "Task Group ") && body == prev {
			t.Errorf("line repeated without a change: %q\n%s", line, out)
		}
		if strings.HasPrefix(body, "Task Group ") {
			prev = body
		}
	}

	// deployment status -monitor on a finished deployment ends at once.
	out, errOut, code = a.CLI("deployment", "status", "-monitor", id)
	if code != 0 || !strings.Contains(out, `✓ Deployment "`+id+`" successful`) {
		t.Errorf("deployment status -monitor = %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, code = a.CLI("deployment", "status", "-monitor", "-json", id); code != 1 || !strings.Contains(errOut, "cannot be used with the '-json' or '-t' flags") {
		t.Errorf("deployment status -monitor -json = %d %q, want 1 and the conflict named", code, errOut)
	}

	// A terminal: the block is redrawn in place under a spinner.
	raw, code := runInTerminal(t, a, "job", "run", "-var", "sleep=301", jobFile)
	if code != 0 {
		t.Fatalf("job run in a terminal exit = %d, want 0\n%s", code, raw)
	}
	for _, want := range []string{"\x1b[J", "\x1b[", "in progress...", "✓ Deployment \"", "Healthy  Unhealthy"} {
		if !strings.Contains(raw, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, raw)
		}
	}

	// A version whose task exits at once: the deployment fails, the job
	// is rolled back, and the rollback's deployment is followed; exit 1.
	out, errOut, code = a.CLI("job", "run", "-var", "command=/bin/false", jobFile)
	if code != 1 {
		t.Fatalf("job run of a failing version exit = %d, want 1\n%s\n%s", code, out, errOut)
	}
	ids := deploymentRe.FindAllStringSubmatch(out, -1)
	if len(ids) != 2 {
		t.Fatalf("job run of a failing version monitored %d deployments, want the failed one and the rollback:\n%s", len(ids), out)
	}
	for _, want := range []string{
		`! Deployment "` + ids[0][1] + `" failed`,
		"rolling back to job version",
		`✓ Deployment "` + ids[1][1] + `" successful`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("failing job run output lacks %q:\n%s", want, out)
		}
	}

	// A placement failure exits 2 at once, naming the deployment that
	// waits for capacity instead of following it.
	out, errOut, code = a.CLI("job", "run", filepath.Join("input", "big.nomad.hcl"))
	if code != 2 || !strings.Contains(out, "failed to place all allocations") || !strings.Contains(out, "nomadish deployment status -monitor") {
		t.Errorf("job run of an unplaceable job = %d, want 2 naming the waiting deployment\n%s\n%s", code, out, errOut)
	}

	// -detach does not monitor.
	out, _, code = a.CLI("job", "run", "-detach", "-var", "sleep=302", jobFile)
	if code != 0 || strings.Contains(out, "Monitoring") {
		t.Errorf("job run -detach = %d\n%s", code, out)
	}
}

// runInTerminal runs the CLI with its stdout and stderr on a pseudo
// terminal of 120 columns and returns what it wrote there.
func runInTerminal(t *testing.T, a *e2eutil.Agent, args ...string) (string, int) {
	t.Helper()
	ptm, pts, err := openPty()
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	defer ptm.Close()
	if err := unix.IoctlSetWinsize(int(pts.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 50, Col: 120}); err != nil {
		t.Fatalf("set pty size: %v", err)
	}
	cmd := exec.Command(a.Bin, args...)
	cmd.Env = append(os.Environ(), "NOMADISH_ADDR="+a.Addr)
	cmd.Stdout, cmd.Stderr = pts, pts
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pts.Close()
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(&buf, ptm) // ends with EIO once the command exits
	}()
	err = cmd.Wait()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("terminal output did not end")
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return buf.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.String(), 0
}

func openPty() (*os.File, *os.File, error) {
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	fd := int(ptm.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		ptm.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		ptm.Close()
		return nil, nil, fmt.Errorf("pty number: %w", err)
	}
	pts, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		ptm.Close()
		return nil, nil, err
	}
	return ptm, pts, nil
}
