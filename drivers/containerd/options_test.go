package containerd_test

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
	"slices"
	"strings"
	"testing"
	"time"

	tasks "github.com/containerd/containerd/api/services/tasks/v1"
	containerdclient "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/containerd"
	"github.com/nomadish/nomadish/drivers/drivertest"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// configured launches the plugin with the test address and the given
// namespace and volumes setting.
func configured(t *testing.T, ns string, volumes bool) drivers.DriverPlugin {
	t.Helper()
	d, pcl := launch(t)
	t.Cleanup(pcl.Kill)
	raw, err := json.Marshal(containerd.Config{Address: address, Namespace: ns, Volumes: containerd.Block[containerd.VolumesConfig]{V: containerd.VolumesConfig{Enabled: volumes}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetConfig(testCtx(t), raw); err != nil {
		t.Fatalf("SetConfig(%s) = %v", raw, err)
	}
	return d
}

// direct is a client of the same containerd, scoped to ns.
func direct(t *testing.T, ns string) (*containerdclient.Client, context.Context) {
	t.Helper()
	cli, err := containerdclient.New(address, containerdclient.WithDefaultNamespace(ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli, namespaces.WithNamespace(testCtx(t), ns)
}

func shell(image, script string) map[string]interface{} {
	return map[string]interface{}{"image": image, "command": "/bin/sh", "args": []string{"-c", script}}
}

// run starts a task, destroys it at cleanup and returns its container ID.
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
	ch, err := d.WaitTask(testCtx(t), id)
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

func mountAt(s *oci.Spec, target string) specs.Mount {
	for _, m := range s.Mounts {
		if m.Destination == target {
			return m
		}
	}
	return specs.Mount{}
}

// TestSpec checks the OCI spec the driver creates, option by option.
func TestSpec(t *testing.T) {
	image := needImage(t)
	d := configured(t, namespace, false)
	cli, ctx := direct(t, namespace)
	tests := []struct {
		name   string
		config map[string]interface{}
		res    *drivers.Resources
		got    func(*drivers.TaskConfig, *oci.Spec) interface{}
		want   interface{}
	}{
		{
			name: "cpu shares from resources.cpu",
			res:  &drivers.Resources{CPUShares: 750, MemoryMB: 64},
			got:  func(_ *drivers.TaskConfig, s *oci.Spec) interface{} { return *s.Linux.Resources.CPU.Shares },
			want: uint64(750),
		},
		{
			name: "memory limit from resources.memory",
			res:  &drivers.Resources{CPUShares: 100, MemoryMB: 64},
			got:  func(_ *drivers.TaskConfig, s *oci.Spec) interface{} { return *s.Linux.Resources.Memory.Limit },
			want: int64(64 << 20),
		},
		{
			name: "memory limit from resources.memory_max",
			res:  &drivers.Resources{CPUShares: 100, MemoryMB: 64, MemoryMaxMB: 96},
			got:  func(_ *drivers.TaskConfig, s *oci.Spec) interface{} { return *s.Linux.Resources.Memory.Limit },
			want: int64(96 << 20),
		},
		{
			name:   "entrypoint then command then args",
			config: map[string]interface{}{"entrypoint": []string{"/bin/sh", "-c"}, "command": "sleep 30", "args": []string{"x"}},
			got:    func(_ *drivers.TaskConfig, s *oci.Spec) interface{} { return s.Process.Args },
			want:   []string{"/bin/sh", "-c", "sleep 30", "x"},
		},
		{
			name:   "args alone replace the image's command (this image has no entrypoint)",
			config: map[string]interface{}{"command": nil, "args": []string{"/bin/sleep", "30"}},
			got:    func(_ *drivers.TaskConfig, s *oci.Spec) interface{} { return s.Process.Args },
			want:   []string{"/bin/sleep", "30"},
		},
		{
			name: "task env",
			got: func(_ *drivers.TaskConfig, s *oci.Spec) interface{} {
				return slices.Contains(s.Process.Env, "CONFORMANCE_WORD=bonjour")
			},
			want: true,
		},
		{
			name: "host network namespace",
			got: func(_ *drivers.TaskConfig, s *oci.Spec) interface{} {
				return slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.NetworkNamespace })
			},
			want: false,
		},
		{
			name:   "bind mount with options",
			config: map[string]interface{}{"mounts": []map[string]interface{}{{"type": "bind", "source": "local", "target": "/data", "options": []string{"rbind", "ro"}}}},
			got: func(cfg *drivers.TaskConfig, s *oci.Spec) interface{} {
				return mountAt(s, "/data")
			},
			want: func(cfg *drivers.TaskConfig) interface{} {
				return specs.Mount{Destination: "/data", Type: "bind", Source: filepath.Join(cfg.TaskDir, "local"), Options: []string{"rbind", "ro"}}
			},
		},
		{
			name:   "tmpfs mount",
			config: map[string]interface{}{"mounts": []map[string]interface{}{{"type": "tmpfs", "source": "tmpfs", "target": "/scratch", "options": []string{"size=1m"}}}},
			got:    func(_ *drivers.TaskConfig, s *oci.Spec) interface{} { return mountAt(s, "/scratch") },
			want:   specs.Mount{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dc := shell(image, "sleep 30")
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
			c, err := cli.LoadContainer(ctx, id)
			if err != nil {
				t.Fatalf("LoadContainer(%s) = %v", id, err)
			}
			s, err := c.Spec(ctx)
			if err != nil {
				t.Fatalf("Spec() = %v", err)
			}
			want := tc.want
			if f, ok := want.(func(*drivers.TaskConfig) interface{}); ok {
				want = f(cfg)
			}
			if got := tc.got(cfg, s); !reflect.DeepEqual(got, want) {
				t.Errorf("spec = %+v, want %+v", got, want)
			}
		})
	}
}

// TestMounts runs tasks that read and write through their mounts.
func TestMounts(t *testing.T) {
	image := needImage(t)
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "hello"), []byte("from-host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := "cat /ro/hello; touch /ro/x 2>/dev/null || echo ro-refused; echo rw > /rw/written; true"
	tests := []struct {
		name    string
		volumes bool
		mounts  func(cfg *drivers.TaskConfig) []map[string]interface{}
		want    []string
		written string
	}{
		{
			name:    "host path with volumes enabled",
			volumes: true,
			mounts: func(*drivers.TaskConfig) []map[string]interface{} {
				return []map[string]interface{}{
					{"type": "bind", "source": host, "target": "/ro", "options": []string{"rbind", "ro"}},
					{"type": "bind", "source": host, "target": "/rw", "options": []string{"rbind", "rw"}},
				}
			},
			want:    []string{"from-host", "ro-refused"},
			written: filepath.Join(host, "written"),
		},
		{
			name: "alloc dir paths with volumes disabled",
			mounts: func(cfg *drivers.TaskConfig) []map[string]interface{} {
				return []map[string]interface{}{
					{"source": "local", "target": "/ro", "options": []string{"rbind", "ro"}},
					{"source": filepath.Join(cfg.AllocDir, "alloc", "data"), "target": "/rw"},
				}
			},
			want:    []string{"ro-refused"},
			written: "alloc/data/written",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := configured(t, namespace, tc.volumes)
			cfg := drivertest.NewTaskConfig(t, nil)
			dc := shell(image, script)
			dc["mounts"] = tc.mounts(cfg)
			raw, _ := json.Marshal(dc)
			cfg.DriverConfig = raw
			run(t, d, cfg)
			if res := waitExit(t, d, cfg.ID); res.ExitCode != 0 {
				t.Fatalf("exit = %+v, want 0", res)
			}
			for _, w := range tc.want {
				waitFile(t, cfg.StdoutPath, w)
			}
			written := tc.written
			if !filepath.IsAbs(written) {
				written = filepath.Join(cfg.AllocDir, written)
			}
			if b, err := os.ReadFile(written); err != nil || string(b) != "rw\n" {
				t.Errorf("%s = %q, %v, want %q", written, b, err, "rw\n")
			}
		})
	}
}

// TestRefused checks that host paths outside the allocation need the
// plugin config, and that the refusal is a clear error and event.
func TestRefused(t *testing.T) {
	image := needImage(t)
	d := configured(t, namespace, false)
	tests := []struct {
		name   string
		config map[string]interface{}
	}{
		{"absolute host path", map[string]interface{}{"mounts": []map[string]interface{}{{"source": "/etc", "target": "/e"}}}},
		{"relative path leaving the alloc dir", map[string]interface{}{"mounts": []map[string]interface{}{{"source": "../../..", "target": "/e"}}}},
		{"image_archive outside the alloc dir", map[string]interface{}{"image_archive": "/etc/hostname"}},
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
			want := containerd.ErrHostMountsDisabled.Error()
			if _, err := d.StartTask(ctx, cfg); err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("StartTask() = %v, want %q", err, want)
			}
			select {
			case ev := <-events:
				if ev.TaskID != cfg.ID || !strings.Contains(ev.Message, want) {
					t.Fatalf("TaskEvents() = %+v, want the refusal", ev)
				}
			case <-ctx.Done():
				t.Fatalf("TaskEvents() sent nothing")
			}
		})
	}
}

// TestImageArchive runs an image loaded from a docker save archive in the
// task dir, in a namespace that holds nothing else, then removes it all.
func TestImageArchive(t *testing.T) {
	needImage(t)
	const ns = "nomadish-test-archive"
	cli, nctx := direct(t, ns)
	t.Cleanup(func() {
		ctx := namespaces.WithNamespace(context.Background(), ns)
		list, _ := cli.ImageService().List(ctx)
		for _, img := range list {
			_ = cli.ImageService().Delete(ctx, img.Name, images.SynchronousDelete())
		}
		if err := cli.NamespaceService().Delete(ctx, ns); err != nil {
			t.Logf("delete namespace %s: %v", ns, err)
		}
		// runc leaves the namespace's parent cgroups; remove the empty ones.
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + ns)
		dirs = append(dirs, "/sys/fs/cgroup/"+ns)
		for _, dir := range dirs {
			_ = os.Remove(dir)
		}
	})
	d := configured(t, ns, false)
	tests := []struct {
		name    string
		image   string
		wantErr string
	}{
		{"image in the archive, short name", dockerImage, ""},
		{"image not in the archive", "nomadish-elsewhere:1", "is not in image_archive local/image.tar, which holds docker.io/library/" + dockerImage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := drivertest.NewTaskConfig(t, nil)
			saveImage(t, dockerImage, filepath.Join(cfg.TaskDir, "local", "image.tar"))
			dc := shell(tc.image, "echo archived")
			dc["image_archive"] = "local/image.tar"
			cfg.DriverConfig, _ = json.Marshal(dc)
			_, err := d.StartTask(testCtx(t), cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("StartTask() = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("StartTask() = %v", err)
			}
			t.Cleanup(func() { _ = d.DestroyTask(context.Background(), cfg.ID, true) })
			if res := waitExit(t, d, cfg.ID); res.ExitCode != 0 {
				t.Fatalf("exit = %+v, want 0", res)
			}
			waitFile(t, cfg.StdoutPath, "archived")
			if _, err := cli.GetImage(nctx, "docker.io/library/"+dockerImage); err != nil {
				t.Errorf("GetImage() in %s = %v, want the imported image", ns, err)
			}
		})
	}
}

func saveImage(t *testing.T, ref, path string) {
	t.Helper()
	dc, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	r, err := dc.ImageSave(testCtx(t), []string{ref})
	if err != nil {
		t.Fatalf("ImageSave(%s) = %v", ref, err)
	}
	defer r.Close()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, r); err != nil {
		t.Fatalf("save %s: %v", ref, err)
	}
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

// TestHostNetworkPort serves on the task's port and reaches it from the
// host.
func TestHostNetworkPort(t *testing.T) {
	image := needImage(t)
	d := configured(t, namespace, false)
	port := freePort(t)
	cfg := drivertest.NewTaskConfig(t, shell(image, `echo served > /local/index.html; exec httpd -f -p 127.0.0.1:$NOMAD_PORT_http -h /local`))
	cfg.Ports = []drivers.PortMapping{{Label: "http", Value: port}}
	cfg.Env["NOMAD_PORT_http"] = fmt.Sprint(port)
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

// TestCleanupAfterStop checks that stop then destroy leaves no container,
// task or snapshot behind.
func TestCleanupAfterStop(t *testing.T) {
	image := needImage(t)
	d := configured(t, namespace, false)
	cli, ctx := direct(t, namespace)
	cfg := drivertest.NewTaskConfig(t, shell(image, "echo up; sleep 300"))
	id := run(t, d, cfg)
	waitFile(t, cfg.StdoutPath, "up")
	if err := d.StopTask(ctx, cfg.ID, 2*time.Second, ""); err != nil {
		t.Fatalf("StopTask() = %v", err)
	}
	if err := d.DestroyTask(ctx, cfg.ID, false); err != nil {
		t.Fatalf("DestroyTask() = %v", err)
	}
	_, err := cli.LoadContainer(ctx, id)
	if !cerrdefs.IsNotFound(err) {
		t.Errorf("LoadContainer(%s) after destroy = %v, want not found", id, err)
	}
	if _, err := cli.TaskService().Get(ctx, &tasks.GetRequest{ContainerID: id}); err == nil {
		t.Errorf("task %s still exists after destroy", id)
	}
	_, err = cli.SnapshotService(containerd.DefaultSnapshotter).Stat(ctx, id+"-snapshot")
	if !cerrdefs.IsNotFound(err) {
		t.Errorf("snapshot %s-snapshot after destroy = %v, want not found", id, err)
	}
	if _, err := d.InspectTask(ctx, cfg.ID); !errors.Is(err, drivers.ErrTaskNotFound) {
		t.Errorf("InspectTask() after destroy = %v, want ErrTaskNotFound", err)
	}
}
