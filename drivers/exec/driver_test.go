package exec_test

import (
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/catalog"
	"github.com/nomadish/nomadish/drivers/drivertest"
	execdriver "github.com/nomadish/nomadish/drivers/exec"
)

func TestMain(m *testing.M) {
	catalog.MaybeServe()
	os.Exit(m.Run())
}

func launch(t *testing.T) (drivers.DriverPlugin, *goplugin.Client) {
	t.Helper()
	if os.Geteuid() != 0 {
		drivertest.SkipOrFail(t, "exec driver needs root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logger := hclog.New(&hclog.LoggerOptions{Name: t.Name(), Level: hclog.Warn, Output: hclog.DefaultOutput})
	d, client, err := catalog.Launch(ctx, execdriver.Name, logger)
	if err != nil {
		t.Fatalf("Launch(%s) = %v, want nil", execdriver.Name, err)
	}
	return d, client
}

func shellTask(script string) map[string]interface{} {
	return map[string]interface{}{"command": "/bin/sh", "args": []string{"-c", script}}
}

func TestConformance(t *testing.T) {
	drivertest.RunConformance(t, launch, drivertest.Config{
		ShellTask:      shellTask,
		EnforcesMemory: true,
		AllocDirInTask: "/alloc",
	})
}

// TestIsolation checks what the task sees: its own pid namespace, the
// chroot layout, a read-only /usr, the shared alloc dir and reduced caps.
func TestIsolation(t *testing.T) {
	d, client := launch(t)
	defer client.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	script := `echo "pid=$$"; ls / | tr '\n' ' '; echo; ` +
		`touch /usr/nomadish-probe 2>/dev/null && echo usr-writable || echo usr-readonly; ` +
		`echo shared > /alloc/data/probe; grep CapBnd /proc/self/status; hostname >/dev/null; echo done`
	cfg := drivertest.NewTaskConfig(t, shellTask(script))
	if _, err := d.StartTask(ctx, cfg); err != nil {
		t.Fatalf("StartTask() = %v, want nil", err)
	}
	defer d.DestroyTask(context.Background(), cfg.ID, true)
	ch, err := d.WaitTask(ctx, cfg.ID)
	if err != nil {
		t.Fatalf("WaitTask() = %v", err)
	}
	if res := <-ch; res == nil || !res.Successful() {
		b, _ := os.ReadFile(cfg.StderrPath)
		t.Fatalf("exit = %+v, want success; stderr %s", res, b)
	}
	out, _ := os.ReadFile(cfg.StdoutPath)
	for _, want := range []string{"pid=1\n", "alloc", "local", "secrets", "usr-readonly", "CapBnd:\t00000000a80405fb", "done"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("task output = %q, want it to contain %q", out, want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(cfg.AllocDir, "alloc/data/probe")); err != nil || string(b) != "shared\n" {
		t.Errorf("alloc/data/probe = %q, %v, want \"shared\"", b, err)
	}
}

// TestExecKeepsIsolation checks that a command exec'd into a task sees
// the task's pid namespace and has only the task's capabilities.
func TestExecKeepsIsolation(t *testing.T) {
	d, client := launch(t)
	defer client.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := drivertest.NewTaskConfig(t, shellTask(`echo ready; while :; do sleep 0.1; done`))
	cfg.Resources = &drivers.Resources{CPUShares: 250, MemoryMB: 64, MemoryMaxMB: 96}
	if _, err := d.StartTask(ctx, cfg); err != nil {
		t.Fatalf("StartTask() = %v, want nil", err)
	}
	defer d.DestroyTask(context.Background(), cfg.ID, true)
	checkCgroup(t, cfg.ID, map[string]string{
		"memory/memory.limit_in_bytes":      "100663296",
		"memory/memory.soft_limit_in_bytes": "67108864",
		"cpu/cpu.shares":                    "250",
	})
	res, err := d.ExecTask(ctx, cfg.ID, []string{"/bin/sh", "-c", "grep CapBnd /proc/self/status; cat /proc/1/cmdline | tr '\\0' ' '"}, 10*time.Second)
	if err != nil {
		t.Fatalf("ExecTask() = %v", err)
	}
	out := string(res.Stdout)
	for _, want := range []string{"CapBnd:\t00000000a80405fb", "/bin/sh -c echo ready"} {
		if !strings.Contains(out, want) {
			t.Errorf("ExecTask() stdout = %q (stderr %q), want it to contain %q", out, res.Stderr, want)
		}
	}
}

func TestUserAndBadCommand(t *testing.T) {
	d, client := launch(t)
	defer client.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := drivertest.NewTaskConfig(t, shellTask(`id -u`))
	cfg.User = "nobody"
	if _, err := d.StartTask(ctx, cfg); err != nil {
		t.Fatalf("StartTask(user nobody) = %v, want nil", err)
	}
	defer d.DestroyTask(context.Background(), cfg.ID, true)
	ch, _ := d.WaitTask(ctx, cfg.ID)
	<-ch
	if out, _ := os.ReadFile(cfg.StdoutPath); strings.TrimSpace(string(out)) != "65534" {
		t.Errorf("id -u as nobody = %q, want 65534", out)
	}
	bad := drivertest.NewTaskConfig(t, map[string]interface{}{"command": "/no/such/binary"})
	if _, err := d.StartTask(ctx, bad); err == nil || !strings.Contains(err.Error(), "/no/such/binary") {
		t.Errorf("StartTask(missing binary) = %v, want error naming the command", err)
	}
}

// checkCgroup compares cgroup v1 files of the task's cgroup.
func checkCgroup(t *testing.T, taskID string, want map[string]string) {
	t.Helper()
	if _, err := os.Stat("/sys/fs/cgroup/memory"); err != nil {
		t.Logf("no cgroup v1 memory hierarchy; limits not checked")
		return
	}
	name := strings.NewReplacer("/", "-").Replace(taskID)
	for file, w := range want {
		dir, base := filepath.Split(file)
		p := filepath.Join("/sys/fs/cgroup", dir, "nomadish", name, base)
		b, err := os.ReadFile(p)
		if got := strings.TrimSpace(string(b)); err != nil || got != w {
			t.Errorf("%s = %q, %v, want %q", p, got, err, w)
		}
	}
}

// TestJoinsNetworkNamespace runs a task in a network namespace made the
// way the client makes a group's: the task sees only that namespace's
// interfaces.
func TestJoinsNetworkNamespace(t *testing.T) {
	ipCmd, err := osexec.LookPath("ip")
	if err != nil {
		drivertest.SkipOrFail(t, "needs ip(8) to make a network namespace")
	}
	d, client := launch(t)
	defer client.Kill()
	ns := fmt.Sprintf("nomadish-exec-test-%d", os.Getpid())
	if out, err := osexec.Command(ipCmd, "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	defer osexec.Command(ipCmd, "netns", "delete", ns).Run()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := drivertest.NewTaskConfig(t, shellTask(`cat /proc/net/dev`))
	cfg.NetworkNamespace = "/var/run/netns/" + ns
	if _, err := d.StartTask(ctx, cfg); err != nil {
		t.Fatalf("StartTask() = %v", err)
	}
	defer d.DestroyTask(context.Background(), cfg.ID, true)
	ch, err := d.WaitTask(ctx, cfg.ID)
	if err != nil {
		t.Fatalf("WaitTask() = %v", err)
	}
	if res := <-ch; res == nil || !res.Successful() {
		t.Fatalf("exit = %+v, want success", res)
	}
	out, _ := os.ReadFile(cfg.StdoutPath)
	var ifaces []string
	for _, line := range strings.Split(string(out), "\n") {
		if name, _, ok := strings.Cut(line, ":"); ok && !strings.Contains(name, "|") {
			ifaces = append(ifaces, strings.TrimSpace(name))
		}
	}
	if len(ifaces) != 1 || ifaces[0] != "lo" {
		t.Fatalf("interfaces in the task = %v, want [lo]", ifaces)
	}
}
