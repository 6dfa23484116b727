package docker_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/docker"
	"github.com/nomadish/nomadish/drivers/drivertest"
)

// runScript runs script in a task with the extra config options, waits for
// it to exit 0 and returns its stdout.
func runScript(t *testing.T, d drivers.DriverPlugin, extra map[string]interface{}, script string) string {
	t.Helper()
	dc := shellTask(script)
	for k, v := range extra {
		dc[k] = v
	}
	cfg := drivertest.NewTaskConfig(t, dc)
	run(t, d, cfg)
	res := waitExit(t, d, cfg.ID)
	b, _ := os.ReadFile(cfg.StdoutPath)
	if res.ExitCode != 0 {
		e, _ := os.ReadFile(cfg.StderrPath)
		t.Fatalf("exit = %+v, want 0; stdout %q, stderr %q", res, b, e)
	}
	// The log copier has drained when the exit is reported.
	return string(b)
}

// capEff reads the effective capability set a task printed with
// `grep CapEff /proc/self/status`.
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
	capChown   = 0
	capNetRaw  = 13
	capSysTime = 25
)

// TestCapabilitiesInContainer checks the capabilities a task ends up with,
// as the kernel reports them inside the container.
func TestCapabilitiesInContainer(t *testing.T) {
	tests := []struct {
		name     string
		plugin   docker.Config
		config   map[string]interface{}
		has, not []int
	}{
		{"defaults drop NET_RAW, as in Nomad", docker.Config{}, nil, []int{capChown}, []int{capNetRaw, capSysTime}},
		{"cap_drop takes CHOWN away", docker.Config{}, map[string]interface{}{"cap_drop": []string{"chown"}}, nil, []int{capChown, capNetRaw}},
		{"allow_caps with NET_RAW keeps it", docker.Config{AllowCaps: append([]string{"net_raw"}, docker.DefaultAllowCaps...)}, nil, []int{capChown, capNetRaw}, nil},
		{"cap_add of an allowed capability", docker.Config{AllowCaps: []string{"all"}}, map[string]interface{}{"cap_add": []string{"sys_time"}}, []int{capSysTime, capChown, capNetRaw}, nil},
		{"drop all, add one back", docker.Config{}, map[string]interface{}{"cap_drop": []string{"all"}, "cap_add": []string{"chown"}}, []int{capChown}, []int{capNetRaw}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := configured(t, tc.plugin)
			got := capEff(t, runScript(t, d, tc.config, "grep CapEff /proc/self/status"))
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

// TestOptionsInContainer runs a task per option and checks what it sees.
func TestOptionsInContainer(t *testing.T) {
	d := configured(t, docker.Config{PidsLimit: 200})
	tests := []struct {
		name   string
		config map[string]interface{}
		script string
		want   []string
	}{
		{"readonly_rootfs makes a write fail", map[string]interface{}{"readonly_rootfs": true},
			"touch /rootfs-write 2>/dev/null || echo refused; touch /local/ok && echo local-writable", []string{"refused", "local-writable"}},
		{"tmpfs mount with a size", map[string]interface{}{"mount": []map[string]interface{}{{"type": "tmpfs", "target": "/scratch", "tmpfs_options": map[string]interface{}{"size": 1 << 20, "mode": 0o700}}}},
			"grep ' /scratch ' /proc/mounts; stat -c %a /scratch", []string{"tmpfs /scratch tmpfs", "size=1024k", "700"}},
		{"hostname", map[string]interface{}{"hostname": "cache-1"}, "hostname", []string{"cache-1"}},
		{"sysctl", map[string]interface{}{"sysctl": []map[string]string{{"net.core.somaxconn": "1234"}}}, "cat /proc/sys/net/core/somaxconn", []string{"1234"}},
		{"work_dir", map[string]interface{}{"work_dir": "/local"}, "pwd", []string{"/local"}},
		{"ulimit", map[string]interface{}{"ulimit": map[string]string{"nofile": "1024:2048"}}, "echo soft=$(ulimit -n) hard=$(ulimit -Hn)", []string{"soft=1024 hard=2048"}},
		{"shm_size", map[string]interface{}{"shm_size": 8 << 20}, "df -k /dev/shm | tail -1", []string{" 8192 "}},
		{"pids_limit", map[string]interface{}{"pids_limit": 64}, "cat /sys/fs/cgroup/pids/pids.max", []string{"64"}},
		{"plugin pids_limit when the task sets none", nil, "cat /sys/fs/cgroup/pids/pids.max", []string{"200"}},
		{"oom_score_adj", map[string]interface{}{"oom_score_adj": 500}, "cat /proc/self/oom_score_adj", []string{"500"}},
		{"init", map[string]interface{}{"init": true}, "cat /proc/1/comm", []string{"docker-init"}},
		{"group_add", map[string]interface{}{"group_add": []string{"1234"}}, "id -G", []string{"1234"}},
		{"tty", map[string]interface{}{"tty": true}, "[ -t 1 ] && echo is-a-tty", []string{"is-a-tty"}},
		{"security_opt no-new-privileges", map[string]interface{}{"security_opt": []string{"no-new-privileges"}}, "grep NoNewPrivs /proc/self/status", []string{"NoNewPrivs:\t1"}},
		{"devices", map[string]interface{}{"devices": []map[string]string{{"host_path": "/dev/null", "container_path": "/dev/nomadish-null"}}},
			"[ -c /dev/nomadish-null ] && echo x > /dev/nomadish-null && echo device-ok", []string{"device-ok"}},
		{"extra_hosts", map[string]interface{}{"extra_hosts": []string{"db.internal:10.1.2.3"}}, "grep db.internal /etc/hosts", []string{"10.1.2.3\tdb.internal"}},
		{"dns options", map[string]interface{}{"dns_servers": []string{"10.0.0.53"}, "dns_search_domains": []string{"svc.local"}, "dns_options": []string{"ndots:2"}},
			"cat /etc/resolv.conf", []string{"nameserver 10.0.0.53", "search svc.local", "options ndots:2"}},
		{"cpu_hard_limit", map[string]interface{}{"cpu_hard_limit": true, "cpu_cfs_period": 50000}, "cat /sys/fs/cgroup/cpu/cpu.cfs_period_us", []string{"50000"}},
		{"mounts, the older list form", map[string]interface{}{"mounts": []map[string]interface{}{{"type": "tmpfs", "target": "/old"}}}, "grep ' /old ' /proc/mounts", []string{"tmpfs /old tmpfs"}},
		{"uts_mode host", map[string]interface{}{"uts_mode": "host"}, "hostname", []string{hostHostname(t)}},
		{"bind mount of another task's dir in the allocation", map[string]interface{}{"volumes": []string{"../alloc:/shared"}}, "echo hi > /shared/x && cat /alloc/x", []string{"hi"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := runScript(t, d, tc.config, tc.script)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout = %q, want it to contain %q", out, w)
				}
			}
		})
	}
}

func hostHostname(t *testing.T) string {
	t.Helper()
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestOptionGates checks the options the plugin config must allow.
func TestOptionGates(t *testing.T) {
	d := configured(t, docker.Config{PidsLimit: 10})
	tests := []struct {
		name   string
		config map[string]interface{}
		want   string
	}{
		{"cap_add outside allow_caps", map[string]interface{}{"cap_add": []string{"sys_time"}}, docker.ErrCapNotAllowed.Error()},
		{"runtime outside allow_runtimes", map[string]interface{}{"runtime": "runsc"}, docker.ErrRuntimeNotAllowed.Error()},
		{"pids_limit above the plugin's", map[string]interface{}{"pids_limit": 20}, "config.pids_limit = 20 is above"},
		{"volume_driver without volumes", map[string]interface{}{"volume_driver": "local"}, docker.ErrVolumesDisabled.Error()},
		{"bad ulimit", map[string]interface{}{"ulimit": map[string]string{"nofile": "lots"}}, "config.ulimit.nofile"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dc := shellTask("exit 0")
			for k, v := range tc.config {
				dc[k] = v
			}
			cfg := drivertest.NewTaskConfig(t, dc)
			_, err := d.StartTask(testCtx(t), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("StartTask() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestLoad loads the image from an archive in the task's local dir, as a
// job with an artifact of a `docker save` would.
func TestLoad(t *testing.T) {
	d := configured(t, docker.Config{})
	cli := engine(t)
	ctx := testCtx(t)
	tag := fmt.Sprintf("nomadish-load-test:%d", time.Now().UnixNano())
	if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: testImage, Target: tag}); err != nil {
		t.Fatalf("ImageTag() = %v", err)
	}
	dc := shellTask("echo loaded")
	dc["image"], dc["load"] = tag, "image.tar"
	cfg := drivertest.NewTaskConfig(t, dc)
	saved, err := cli.ImageSave(ctx, []string{tag})
	if err != nil {
		t.Fatalf("ImageSave() = %v", err)
	}
	local := filepath.Join(cfg.TaskDir, "local")
	if err := os.MkdirAll(local, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(local, "image.tar"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(f, saved)
	saved.Close()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Only the archive has the tag now.
	if _, err := cli.ImageRemove(ctx, tag, client.ImageRemoveOptions{}); err != nil {
		t.Fatalf("ImageRemove(%s) = %v", tag, err)
	}
	t.Cleanup(func() {
		_, _ = cli.ImageRemove(context.Background(), tag, client.ImageRemoveOptions{})
	})
	run(t, d, cfg)
	if res := waitExit(t, d, cfg.ID); res.ExitCode != 0 {
		t.Fatalf("exit = %+v, want 0", res)
	}
	waitFile(t, cfg.StdoutPath, "loaded")
	if _, err := cli.ImageInspect(ctx, tag); err != nil {
		t.Errorf("ImageInspect(%s) after the task = %v, want the loaded image", tag, err)
	}
}

// TestPortMap serves on the container port port_map names for the label,
// reached on the host port, with NOMAD_PORT_<label> naming it inside.
func TestPortMap(t *testing.T) {
	d := configured(t, docker.Config{})
	port := freePort(t)
	dc := shellTask(`echo "$NOMAD_PORT_http" > /local/index.html; exec httpd -f -p "$NOMAD_PORT_http" -h /local`)
	dc["port_map"] = []map[string]int{{"http": 8080}}
	cfg := drivertest.NewTaskConfig(t, dc)
	cfg.Ports = []drivers.PortMapping{{Label: "http", Value: port}}
	cfg.Env["NOMAD_PORT_http"] = strconv.Itoa(port)
	run(t, d, cfg)
	url := fmt.Sprintf("http://127.0.0.1:%d/index.html", port)
	deadline := time.Now().Add(20 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) == "8080\n" {
				return
			}
			err = fmt.Errorf("status %s body %q", resp.Status, b)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s = %v, want %q", url, last, "8080\n")
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestPullAuth checks that the auth block's credentials reach the
// registry: a local one that asks for basic auth and records it.
func TestPullAuth(t *testing.T) {
	d := configured(t, docker.Config{})
	var mu sync.Mutex
	var seen []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		mu.Lock()
		if auth != "" {
			seen = append(seen, auth)
		}
		mu.Unlock()
		if auth == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="nomadish-test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/v2/" {
			return
		}
		http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`, http.StatusNotFound)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	dc := shellTask("exit 0")
	dc["image"] = ln.Addr().String() + "/nomadish/private:1"
	dc["image_pull_timeout"] = "20s"
	dc["auth"] = map[string]string{"username": "robot", "password": "s3cret"}
	cfg := drivertest.NewTaskConfig(t, dc)
	if _, err := d.StartTask(testCtx(t), cfg); err == nil {
		t.Fatalf("StartTask() = nil, want a pull failure (the registry has no such image)")
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("robot:s3cret"))
	mu.Lock()
	defer mu.Unlock()
	for _, s := range seen {
		if s == want {
			return
		}
	}
	t.Errorf("registry saw Authorization %q, want %q", seen, want)
}
