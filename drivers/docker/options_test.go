package docker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/docker"
	"github.com/nomadish/nomadish/drivers/drivertest"
)

// configured launches the plugin with the given plugin config.
func configured(t *testing.T, pc docker.Config) drivers.DriverPlugin {
	t.Helper()
	d, pcl := launch(t)
	t.Cleanup(pcl.Kill)
	raw, err := json.Marshal(pc)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetConfig(testCtx(t), raw); err != nil {
		t.Fatalf("SetConfig(%s) = %v, want nil", raw, err)
	}
	return d
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func engine(t *testing.T) *client.Client {
	t.Helper()
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// run starts a task and destroys it at cleanup.
func run(t *testing.T, d drivers.DriverPlugin, cfg *drivers.TaskConfig) string {
	t.Helper()
	if _, err := d.StartTask(testCtx(t), cfg); err != nil {
		t.Fatalf("StartTask() = %v, want nil", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = d.DestroyTask(ctx, cfg.ID, true)
	})
	st, err := d.InspectTask(testCtx(t), cfg.ID)
	if err != nil {
		t.Fatalf("InspectTask() = %v", err)
	}
	return st.Attributes["container_id"]
}

func waitExit(t *testing.T, d drivers.DriverPlugin, id string) *drivers.ExitResult {
	t.Helper()
	ctx := testCtx(t)
	ch, err := d.WaitTask(ctx, id)
	if err != nil {
		t.Fatalf("WaitTask() = %v", err)
	}
	res, ok := <-ch
	if !ok || res == nil {
		t.Fatalf("WaitTask() closed without a result")
	}
	return res
}

func waitFile(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(path); strings.Contains(string(b), want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(path)
	t.Fatalf("%s = %q, want it to contain %q", path, b, want)
}

// TestContainerSettings checks what the Engine was asked for, option by
// option.
func TestContainerSettings(t *testing.T) {
	d := configured(t, docker.Config{AllowPrivileged: true})
	cli := engine(t)
	tests := []struct {
		name   string
		config map[string]interface{}
		res    *drivers.Resources
		got    func(*container.InspectResponse) interface{}
		want   interface{}
	}{
		{
			name:   "memory_hard_limit makes resources.memory the reservation",
			config: map[string]interface{}{"memory_hard_limit": 256},
			res:    &drivers.Resources{CPUShares: 100, MemoryMB: 64},
			got: func(c *container.InspectResponse) interface{} {
				return [2]int64{c.HostConfig.Memory, c.HostConfig.MemoryReservation}
			},
			want: [2]int64{256 << 20, 64 << 20},
		},
		{
			name: "resources.memory alone is the hard limit",
			res:  &drivers.Resources{CPUShares: 100, MemoryMB: 64},
			got: func(c *container.InspectResponse) interface{} {
				return [2]int64{c.HostConfig.Memory, c.HostConfig.MemoryReservation}
			},
			want: [2]int64{64 << 20, 0},
		},
		{
			name: "cpu shares from resources.cpu",
			res:  &drivers.Resources{CPUShares: 750, MemoryMB: 64},
			got:  func(c *container.InspectResponse) interface{} { return c.HostConfig.CPUShares },
			want: int64(750),
		},
		{
			name:   "entrypoint",
			config: map[string]interface{}{"entrypoint": []string{"/bin/sh", "-c"}, "command": "sleep 30", "args": nil},
			got:    func(c *container.InspectResponse) interface{} { return c.Config.Entrypoint },
			want:   []string{"/bin/sh", "-c"},
		},
		{
			name:   "work_dir",
			config: map[string]interface{}{"work_dir": "/tmp"},
			got:    func(c *container.InspectResponse) interface{} { return c.Config.WorkingDir },
			want:   "/tmp",
		},
		{
			name:   "labels",
			config: map[string]interface{}{"labels": []map[string]string{{"team": "infra"}}},
			got:    func(c *container.InspectResponse) interface{} { return c.Config.Labels["team"] },
			want:   "infra",
		},
		{
			name:   "network_mode",
			config: map[string]interface{}{"network_mode": "none"},
			got:    func(c *container.InspectResponse) interface{} { return string(c.HostConfig.NetworkMode) },
			want:   "none",
		},
		{
			name:   "tmpfs mount",
			config: map[string]interface{}{"mount": map[string]interface{}{"type": "tmpfs", "target": "/scratch"}},
			got: func(c *container.InspectResponse) interface{} {
				return c.HostConfig.Mounts
			},
			want: []mount.Mount{{Type: mount.TypeTmpfs, Target: "/scratch"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dc := shellTask("sleep 30")
			for k, v := range tc.config {
				if v == nil {
					delete(dc, k)
					continue
				}
				dc[k] = v
			}
			cfg := drivertest.NewTaskConfig(t, dc)
			if tc.res != nil {
				cfg.Resources = tc.res
			}
			id := run(t, d, cfg)
			ins, err := cli.ContainerInspect(testCtx(t), id, client.ContainerInspectOptions{})
			if err != nil {
				t.Fatalf("ContainerInspect(%s) = %v", id, err)
			}
			if got := tc.got(&ins.Container); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("container setting = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRefused checks what the plugin config must allow first, and that
// each refusal is a clear error and a task event.
func TestRefused(t *testing.T) {
	d := configured(t, docker.Config{})
	tests := []struct {
		name   string
		config map[string]interface{}
		want   error
	}{
		{"privileged", map[string]interface{}{"privileged": true}, docker.ErrPrivilegedDisabled},
		{"absolute volume", map[string]interface{}{"volumes": []string{"/etc:/host-etc:ro"}}, docker.ErrVolumesDisabled},
		{"volume leaving the task dir", map[string]interface{}{"volumes": []string{"../../..:/up"}}, docker.ErrVolumesDisabled},
		{"absolute bind mount", map[string]interface{}{"mount": []map[string]interface{}{{"type": "bind", "source": "/etc", "target": "/e"}}}, docker.ErrVolumesDisabled},
		{"named volume", map[string]interface{}{"mount": []map[string]interface{}{{"type": "volume", "source": "nomadish-test-vol", "target": "/v"}}}, docker.ErrVolumesDisabled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			events, err := d.TaskEvents(ctx)
			if err != nil {
				t.Fatalf("TaskEvents() = %v", err)
			}
			dc := shellTask("exit 0")
			for k, v := range tc.config {
				dc[k] = v
			}
			cfg := drivertest.NewTaskConfig(t, dc)
			_, err = d.StartTask(ctx, cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want.Error()) {
				t.Fatalf("StartTask() = %v, want %v", err, tc.want)
			}
			select {
			case ev := <-events:
				if ev.TaskID != cfg.ID || !strings.Contains(ev.Message, tc.want.Error()) {
					t.Fatalf("TaskEvents() = %+v, want the refusal", ev)
				}
			case <-ctx.Done():
				t.Fatalf("TaskEvents() sent nothing")
			}
		})
	}
}

// TestVolumesAndMounts runs a task that reads and writes through each kind
// of mount.
func TestVolumesAndMounts(t *testing.T) {
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "hello"), []byte("from-host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := strings.Join([]string{
		"cat /ro/hello",
		"touch /ro/x 2>/dev/null || echo ro-refused",
		"echo rw > /rw/written",
		"echo local > /data/written",
		"cat /m/hello",
		"grep -q ' /scratch tmpfs ' /proc/mounts && echo tmpfs-ok",
		"true",
	}, "; ")
	tests := []struct {
		name    string
		enabled bool
		config  map[string]interface{}
		want    []string
	}{
		{
			name:    "host paths with volumes enabled",
			enabled: true,
			config: map[string]interface{}{
				"volumes": []string{host + ":/ro:ro", host + ":/rw", "local/data:/data"},
				"mount": []map[string]interface{}{
					{"type": "bind", "source": host, "target": "/m", "readonly": true},
					{"type": "tmpfs", "target": "/scratch"},
				},
			},
			want: []string{"from-host", "ro-refused", "tmpfs-ok"},
		},
		{
			name:   "task dir paths with volumes disabled",
			config: map[string]interface{}{"volumes": []string{"local/data:/data", "local:/ro:ro", "local:/rw", "local:/m"}},
			want:   []string{"ro-refused"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := configured(t, docker.Config{Volumes: docker.Block[docker.VolumesConfig]{V: docker.VolumesConfig{Enabled: tc.enabled}}})
			dc := shellTask(script)
			for k, v := range tc.config {
				dc[k] = v
			}
			cfg := drivertest.NewTaskConfig(t, dc)
			run(t, d, cfg)
			if res := waitExit(t, d, cfg.ID); res.ExitCode != 0 {
				t.Fatalf("exit = %+v, want 0", res)
			}
			for _, w := range tc.want {
				waitFile(t, cfg.StdoutPath, w)
			}
			if b, err := os.ReadFile(filepath.Join(cfg.TaskDir, "local/data/written")); err != nil || string(b) != "local\n" {
				t.Errorf("local/data/written = %q, %v, want %q", b, err, "local\n")
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(host, "written")); err != nil || string(b) != "rw\n" {
		t.Errorf("%s/written = %q, %v, want %q", host, b, err, "rw\n")
	}
}

// stalledRegistry accepts connections and never answers, as a registry
// that hangs would.
func stalledRegistry(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// TestPullFailures checks that pulls that cannot succeed here (no
// registry) fail within their timeout with a clear event.
func TestPullFailures(t *testing.T) {
	stalled := stalledRegistry(t) + "/nomadish/stalled:1"
	tests := []struct {
		name    string
		plugin  docker.Config
		config  map[string]interface{}
		wantErr string
		within  time.Duration
	}{
		{"missing image", docker.Config{}, map[string]interface{}{"image": "nomadish-no-such-image:1", "image_pull_timeout": "5s"}, "pull image nomadish-no-such-image:1", 15 * time.Second},
		{"force_pull of a local-only image", docker.Config{}, map[string]interface{}{"force_pull": true, "image_pull_timeout": "5s"}, "pull image " + testImage, 15 * time.Second},
		{"image_pull_timeout on a stalled registry", docker.Config{}, map[string]interface{}{"image": stalled, "image_pull_timeout": "2s"}, "image_pull_timeout 2s reached", 10 * time.Second},
		{"pull_activity_timeout on a stalled registry", docker.Config{PullActivityTimeout: "1s"}, map[string]interface{}{"image": stalled, "image_pull_timeout": "1m"}, "pull_activity_timeout 1s", 10 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := configured(t, tc.plugin)
			ctx := testCtx(t)
			events, err := d.TaskEvents(ctx)
			if err != nil {
				t.Fatalf("TaskEvents() = %v", err)
			}
			dc := shellTask("exit 0")
			for k, v := range tc.config {
				dc[k] = v
			}
			cfg := drivertest.NewTaskConfig(t, dc)
			start := time.Now()
			_, err = d.StartTask(ctx, cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("StartTask() = %v, want an error containing %q", err, tc.wantErr)
			}
			if el := time.Since(start); el > tc.within {
				t.Errorf("StartTask() failed after %v, want within %v", el, tc.within)
			}
			var msgs []string
			for len(msgs) < 2 {
				select {
				case ev := <-events:
					msgs = append(msgs, ev.Message)
				case <-ctx.Done():
					t.Fatalf("TaskEvents() = %q, want a download and a failure event", msgs)
				}
			}
			if msgs[0] != "Downloading image" || !strings.HasPrefix(msgs[1], "Failed to pull image: ") || !strings.Contains(msgs[1], tc.wantErr) {
				t.Fatalf("TaskEvents() = %q, want a download then a failure event naming %q", msgs, tc.wantErr)
			}
			t.Logf("failure event after %v: %s", time.Since(start).Round(time.Millisecond), msgs[1])
		})
	}
}

// TestContainerRemovedAfterStop checks stop then destroy leaves no
// container.
func TestContainerRemovedAfterStop(t *testing.T) {
	d := configured(t, docker.Config{})
	cli := engine(t)
	cfg := drivertest.NewTaskConfig(t, shellTask("echo up; sleep 300"))
	id := run(t, d, cfg)
	waitFile(t, cfg.StdoutPath, "up")
	ctx := testCtx(t)
	if err := d.StopTask(ctx, cfg.ID, 2*time.Second, ""); err != nil {
		t.Fatalf("StopTask() = %v", err)
	}
	if err := d.DestroyTask(ctx, cfg.ID, false); err != nil {
		t.Fatalf("DestroyTask() = %v", err)
	}
	_, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if !cerrdefs.IsNotFound(err) {
		t.Fatalf("ContainerInspect(%s) after destroy = %v, want not found", id, err)
	}
	if _, err := d.InspectTask(ctx, cfg.ID); !errors.Is(err, drivers.ErrTaskNotFound) {
		t.Fatalf("InspectTask() after destroy = %v, want ErrTaskNotFound", err)
	}
}

// TestNamedVolume mounts a named volume, which needs volumes enabled, and
// removes it afterwards.
func TestNamedVolume(t *testing.T) {
	d := configured(t, docker.Config{Volumes: docker.Block[docker.VolumesConfig]{V: docker.VolumesConfig{Enabled: true}}})
	cli := engine(t)
	name := fmt.Sprintf("nomadish-test-vol-%d", time.Now().UnixNano())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := cli.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("VolumeRemove(%s) = %v", name, err)
		}
	})
	dc := shellTask("echo kept > /v/x; cat /v/x")
	dc["mount"] = []map[string]interface{}{{"type": "volume", "source": name, "target": "/v"}}
	cfg := drivertest.NewTaskConfig(t, dc)
	run(t, d, cfg)
	if res := waitExit(t, d, cfg.ID); res.ExitCode != 0 {
		t.Fatalf("exit = %+v, want 0", res)
	}
	waitFile(t, cfg.StdoutPath, "kept")
	if _, err := cli.VolumeInspect(testCtx(t), name, client.VolumeInspectOptions{}); err != nil {
		t.Fatalf("VolumeInspect(%s) = %v, want the named volume", name, err)
	}
}

// TestPublishedPort serves on the container port mapped to the host port
// the scheduler chose and reaches it from the host.
func TestPublishedPort(t *testing.T) {
	d := configured(t, docker.Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfg := drivertest.NewTaskConfig(t, shellTask("echo served > /local/index.html; exec httpd -f -p 8080 -h /local"))
	cfg.Ports = []drivers.PortMapping{{Label: "http", Value: port, To: 8080}}
	run(t, d, cfg)
	url := fmt.Sprintf("http://127.0.0.1:%d/index.html", port)
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) == "served\n" {
				return
			}
			err = fmt.Errorf("status %s body %q", resp.Status, b)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s = %v, want %q", url, last, "served\n")
}
