package rawexec_test

import (
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/drivertest"
)

// interfaces lists the interface names in /proc/net/dev output.
func interfaces(out string) []string {
	var ifaces []string
	for _, line := range strings.Split(out, "\n") {
		if name, _, ok := strings.Cut(line, ":"); ok && !strings.Contains(name, "|") {
			ifaces = append(ifaces, strings.TrimSpace(name))
		}
	}
	return ifaces
}

// TestJoinsGroupNetworkNamespace runs a raw_exec task, and an exec into
// it, in a network namespace as the client makes a bridge-mode group's:
// both see only that namespace's interfaces, while the task still sees
// the host's files.
func TestJoinsGroupNetworkNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		drivertest.SkipOrFail(t, "joining a network namespace needs root")
	}
	ipCmd, err := osexec.LookPath("ip")
	if err != nil {
		drivertest.SkipOrFail(t, "needs ip(8) to make a network namespace")
	}
	d, client := launch(t)
	defer client.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.SetConfig(ctx, []byte(`{"enabled": true}`)); err != nil {
		t.Fatal(err)
	}
	caps, err := d.Capabilities(ctx)
	if err != nil || !caps.SupportsNetIsolation(drivers.NetIsolationModeGroup) {
		t.Fatalf("Capabilities() = %+v, %v, want group network isolation", caps, err)
	}
	ns := fmt.Sprintf("nomadish-rawexec-test-%d", os.Getpid())
	if out, err := osexec.Command(ipCmd, "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	defer osexec.Command(ipCmd, "netns", "delete", ns).Run()
	path := "/var/run/netns/" + ns

	cfg := drivertest.NewTaskConfig(t, shellTask(`cat /proc/net/dev; test -e /etc/hostname && echo host-files; sleep 30`))
	cfg.NetworkNamespace = path
	cfg.NetworkIsolation = &drivers.NetworkIsolationSpec{Mode: drivers.NetIsolationModeGroup, Path: path}
	if _, err := d.StartTask(ctx, cfg); err != nil {
		t.Fatalf("StartTask() = %v", err)
	}
	defer d.DestroyTask(context.Background(), cfg.ID, true)

	var out []byte
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		out, _ = os.ReadFile(cfg.StdoutPath)
		if strings.Contains(string(out), "host-files") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := interfaces(string(out)); len(got) != 1 || got[0] != "lo" {
		t.Fatalf("interfaces in the task = %v, want [lo]; output:\n%s", got, out)
	}
	if !strings.Contains(string(out), "host-files") {
		t.Fatalf("task output = %q, want the host's files visible", out)
	}

	res, err := d.ExecTask(ctx, cfg.ID, []string{"cat", "/proc/net/dev"}, 10*time.Second)
	if err != nil || !res.ExitResult.Successful() {
		t.Fatalf("ExecTask() = %+v, %v", res, err)
	}
	if got := interfaces(string(res.Stdout)); len(got) != 1 || got[0] != "lo" {
		t.Fatalf("interfaces seen by exec = %v, want [lo]; stderr %s", got, res.Stderr)
	}
}
