package containerd_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/containerd"
	"github.com/nomadish/nomadish/drivers/drivertest"
)

// configuredWith launches the plugin with the test address and namespace
// and the given plugin config.
func configuredWith(t *testing.T, pc containerd.Config) drivers.DriverPlugin {
	t.Helper()
	d, pcl := launch(t)
	t.Cleanup(pcl.Kill)
	pc.Address, pc.Namespace = address, namespace
	raw, err := json.Marshal(pc)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetConfig(testCtx(t), raw); err != nil {
		t.Fatalf("SetConfig(%s) = %v", raw, err)
	}
	return d
}

// runScript runs script with the extra config options, waits for it to
// exit 0 and returns its stdout.
func runScript(t *testing.T, d drivers.DriverPlugin, image string, extra map[string]interface{}, script string) string {
	t.Helper()
	dc := shell(image, script)
	for k, v := range extra {
		dc[k] = v
	}
	cfg := drivertest.NewTaskConfig(t, dc)
	run(t, d, cfg)
	res := waitExit(t, d, cfg.ID)
	// The logging binary copies the output on its own: it may land in the
	// file a moment after the exit is reported.
	var b []byte
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, _ = os.ReadFile(cfg.StdoutPath)
		if len(b) > 0 || time.Now().After(deadline) {
			break
		}
	}
	if res.ExitCode != 0 {
		e, _ := os.ReadFile(cfg.StderrPath)
		t.Fatalf("exit = %+v, want 0; stdout %q, stderr %q", res, b, e)
	}
	return string(b)
}

// capEff reads the effective capabilities `grep CapEff /proc/self/status`
// printed.
func capEff(t *testing.T, out string) uint64 {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatalf("CapEff %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatalf("no CapEff in %q", out)
	return 0
}

// Capability bits, from linux/capability.h.
const (
	capChown    = 0
	capNetAdmin = 12
)

// TestOptionsInContainer runs a task per option and checks what it sees.
func TestOptionsInContainer(t *testing.T) {
	image := needImage(t)
	d := configuredWith(t, containerd.Config{})
	tests := []struct {
		name   string
		config map[string]interface{}
		script string
		want   []string
	}{
		{"readonly_rootfs makes a write fail", map[string]interface{}{"readonly_rootfs": true},
			"touch /rootfs-write 2>/dev/null || echo refused; touch /local/ok && echo local-writable", []string{"refused", "local-writable"}},
		{"hostname", map[string]interface{}{"hostname": "cache-1"}, "hostname", []string{"cache-1"}},
		{"sysctl", map[string]interface{}{"sysctl": []map[string]string{{"kernel.msgmax": "4096"}}}, "cat /proc/sys/kernel/msgmax", []string{"4096"}},
		{"file_limit", map[string]interface{}{"file_limit": 2048}, "echo soft=$(ulimit -n) hard=$(ulimit -Hn)", []string{"soft=2048 hard=2048"}},
		{"shm_size", map[string]interface{}{"shm_size": "8M"}, "df -k /dev/shm | tail -1", []string{" 8192 "}},
		{"extra_hosts", map[string]interface{}{"extra_hosts": []string{"db.internal:10.1.2.3"}}, "grep db.internal /etc/hosts", []string{"10.1.2.3\tdb.internal"}},
		{"host_dns = false keeps the image's resolv.conf", map[string]interface{}{"host_dns": false}, "[ -s /etc/resolv.conf ] || echo no-host-resolv", []string{"no-host-resolv"}},
		{"pid_mode host", map[string]interface{}{"pid_mode": "host"}, "[ -d /proc/" + strconv.Itoa(os.Getpid()) + " ] && echo sees-host-pids", []string{"sees-host-pids"}},
		{"devices", map[string]interface{}{"devices": []string{"/dev/fuse"}}, "[ -c /dev/fuse ] && echo device-ok", []string{"device-ok"}},
		{"seccomp", map[string]interface{}{"seccomp": true}, "grep '^Seccomp:' /proc/self/status", []string{"Seccomp:\t2"}},
		{"cwd", map[string]interface{}{"cwd": "/local"}, "pwd", []string{"/local"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := runScript(t, d, image, tc.config, tc.script)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout = %q, want it to contain %q", out, w)
				}
			}
		})
	}
}

// TestPidsLimit reads the task's pids cgroup from the host.
func TestPidsLimit(t *testing.T) {
	image := needImage(t)
	d := configuredWith(t, containerd.Config{})
	dc := shell(image, "sleep 30")
	dc["pids_limit"] = 64
	cfg := drivertest.NewTaskConfig(t, dc)
	id := run(t, d, cfg)
	var got []byte
	var err error
	for _, p := range []string{
		filepath.Join("/sys/fs/cgroup/pids", namespace, id, "pids.max"),
		filepath.Join("/sys/fs/cgroup", namespace, id, "pids.max"),
	} {
		if got, err = os.ReadFile(p); err == nil {
			break
		}
	}
	if err != nil || strings.TrimSpace(string(got)) != "64" {
		t.Errorf("pids.max = %q, %v, want 64", got, err)
	}
}

// TestCapabilitiesInContainer checks the capabilities a task ends up
// with, as the kernel reports them inside the container.
func TestCapabilitiesInContainer(t *testing.T) {
	image := needImage(t)
	d := configuredWith(t, containerd.Config{AllowPrivileged: true})
	tests := []struct {
		name     string
		config   map[string]interface{}
		has, not []int
	}{
		{"defaults", nil, []int{capChown}, []int{capNetAdmin}},
		{"cap_drop takes CHOWN away", map[string]interface{}{"cap_drop": []string{"chown"}}, nil, []int{capChown}},
		{"cap_add", map[string]interface{}{"cap_add": []string{"CAP_NET_ADMIN"}}, []int{capNetAdmin, capChown}, nil},
		{"drop all, add one back", map[string]interface{}{"cap_drop": []string{"all"}, "cap_add": []string{"net_admin"}}, []int{capNetAdmin}, []int{capChown}},
		{"privileged has every capability of the runtime", map[string]interface{}{"privileged": true}, []int{capChown, capNetAdmin}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := capEff(t, runScript(t, d, image, tc.config, "grep CapEff /proc/self/status"))
			for _, c := range tc.has {
				if got&(1<<c) == 0 {
					t.Errorf("CapEff = %#x, want capability %d set", got, c)
				}
			}
			for _, c := range tc.not {
				if got&(1<<c) != 0 {
					t.Errorf("CapEff = %#x, want capability %d cleared", got, c)
				}
			}
		})
	}
}

// TestOptionGates checks what the plugin config or the group's network
// refuse, each a clear error and event.
func TestOptionGates(t *testing.T) {
	image := needImage(t)
	d := configuredWith(t, containerd.Config{})
	tests := []struct {
		name   string
		config map[string]interface{}
		group  bool
		want   string
	}{
		{"privileged without allow_privileged", map[string]interface{}{"privileged": true}, false, containerd.ErrPrivilegedDisabled.Error()},
		{"host_network in a group network", map[string]interface{}{"host_network": true}, true, "config.host_network cannot be set"},
		{"malformed shm_size", map[string]interface{}{"shm_size": "big"}, false, "config.shm_size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			events, err := d.TaskEvents(ctx)
			if err != nil {
				t.Fatalf("TaskEvents() = %v", err)
			}
			dc := shell(image, "exit 0")
			for k, v := range tc.config {
				dc[k] = v
			}
			cfg := drivertest.NewTaskConfig(t, dc)
			if tc.group {
				cfg.NetworkIsolation = &drivers.NetworkIsolationSpec{Mode: "bridge", Path: "/var/run/netns/none"}
			}
			if _, err := d.StartTask(ctx, cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("StartTask() = %v, want an error containing %q", err, tc.want)
			}
			if strings.HasPrefix(tc.want, "config.shm_size") {
				return // refused while decoding, before any event
			}
			select {
			case ev := <-events:
				if ev.TaskID != cfg.ID || !strings.Contains(ev.Message, tc.want) {
					t.Fatalf("TaskEvents() = %+v, want the refusal", ev)
				}
			case <-ctx.Done():
				t.Fatalf("TaskEvents() sent nothing")
			}
		})
	}
}

// TestLabelsAndAnnotations checks the container's labels and its spec's
// annotations.
func TestLabelsAndAnnotations(t *testing.T) {
	image := needImage(t)
	d := configuredWith(t, containerd.Config{})
	cli, ctx := direct(t, namespace)
	dc := shell(image, "sleep 30")
	dc["labels"] = []map[string]string{{"team": "infra"}}
	dc["annotations"] = map[string]string{"note": "hi"}
	cfg := drivertest.NewTaskConfig(t, dc)
	id := run(t, d, cfg)
	c, err := cli.LoadContainer(ctx, id)
	if err != nil {
		t.Fatalf("LoadContainer(%s) = %v", id, err)
	}
	labels, err := c.Labels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if labels["team"] != "infra" || labels["io.nomadish.task_id"] != cfg.ID {
		t.Errorf("Labels() = %v, want team=infra beside io.nomadish.task_id", labels)
	}
	s, err := c.Spec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Annotations["note"] != "hi" {
		t.Errorf("spec annotations = %v, want note=hi", s.Annotations)
	}
}
