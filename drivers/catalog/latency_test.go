package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/containerd"
	"github.com/nomadish/nomadish/drivers/docker"
)

// Where the latency benchmark finds the runtimes and its image.
const (
	benchContainerdAddress = "/var/run/docker/containerd/containerd.sock"
	benchNamespace         = "nomadish-bench"
	benchImage             = "nomadish-busybox:bench"
	benchStarts            = 20
)

// latencyCase is one driver in the start-to-running benchmark.
type latencyCase struct {
	driver     string
	pluginConf map[string]interface{}
	taskConf   map[string]interface{}
	needsRoot  bool
}

// BenchmarkStartToRunning measures, per driver, the time from StartTask
// until InspectTask first reports the task running, through a real plugin
// process (median of 20 starts of `sleep 300`), and beside it the Docker
// CLI on the same busybox image: `docker run -d --rm` (returns once the
// container runs) and `docker run --rm ... true` (create, run, exit and
// remove).
func BenchmarkStartToRunning(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := docker.BuildBusyboxImage(ctx, "", benchImage, "/bin/busybox"); err != nil {
		b.Fatalf("build %s: %v", benchImage, err)
	}
	ref, err := containerd.ImportFromDocker(ctx, benchContainerdAddress, benchNamespace, containerd.DefaultSnapshotter, benchImage)
	if err != nil {
		b.Fatalf("import %s into containerd: %v", benchImage, err)
	}
	sleep := map[string]interface{}{"command": "/bin/sleep", "args": []string{"300"}}
	cases := []latencyCase{
		{driver: "raw_exec", pluginConf: map[string]interface{}{"enabled": true}, taskConf: sleep},
		{driver: "exec", taskConf: sleep, needsRoot: true},
		{driver: "docker", taskConf: map[string]interface{}{"image": benchImage, "command": "/bin/sleep", "args": []string{"300"}}},
		{driver: "containerd",
			pluginConf: map[string]interface{}{"address": benchContainerdAddress, "namespace": benchNamespace},
			taskConf:   map[string]interface{}{"image": ref, "command": "/bin/sleep", "args": []string{"300"}}},
	}
	for _, tc := range cases {
		b.Run(tc.driver, func(b *testing.B) {
			if tc.needsRoot && os.Geteuid() != 0 {
				b.Skip("needs root")
			}
			for n := 0; n < b.N; n++ {
				reportMedian(b, tc.driver+" start-to-running", driverLatencies(b, tc))
			}
		})
	}
	b.Run("docker_cli_run_detached", func(b *testing.B) {
		for n := 0; n < b.N; n++ {
			reportMedian(b, "docker run -d --rm", dockerCLILatencies(b, true))
		}
	})
	b.Run("docker_cli_run_to_exit", func(b *testing.B) {
		for n := 0; n < b.N; n++ {
			reportMedian(b, "docker run --rm true", dockerCLILatencies(b, false))
		}
	})
}

func driverLatencies(b *testing.B, tc latencyCase) []time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	d, pc, err := Launch(ctx, tc.driver, hclog.NewNullLogger())
	if err != nil {
		b.Fatalf("Launch(%s) = %v", tc.driver, err)
	}
	defer pc.Kill()
	conf, err := json.Marshal(tc.pluginConf)
	if err != nil {
		b.Fatal(err)
	}
	if tc.pluginConf == nil {
		conf = []byte("{}")
	}
	if err := d.SetConfig(ctx, conf); err != nil {
		b.Fatalf("SetConfig(%s) = %v", tc.driver, err)
	}
	var out []time.Duration
	for i := 0; i < benchStarts; i++ {
		cfg := benchTask(b, tc.driver, i, tc.taskConf)
		start := time.Now()
		if _, err := d.StartTask(ctx, cfg); err != nil {
			b.Fatalf("StartTask(%s) = %v", tc.driver, err)
		}
		for {
			st, err := d.InspectTask(ctx, cfg.ID)
			if err != nil {
				b.Fatalf("InspectTask(%s) = %v", tc.driver, err)
			}
			if st.State == drivers.TaskStateRunning {
				break
			}
			if st.State == drivers.TaskStateExited || ctx.Err() != nil {
				b.Fatalf("task %s state %q, want running", cfg.ID, st.State)
			}
			time.Sleep(time.Millisecond)
		}
		out = append(out, time.Since(start))
		if err := d.StopTask(ctx, cfg.ID, 5*time.Second, "SIGKILL"); err != nil {
			b.Fatalf("StopTask(%s) = %v", tc.driver, err)
		}
		if err := d.DestroyTask(ctx, cfg.ID, true); err != nil {
			b.Fatalf("DestroyTask(%s) = %v", tc.driver, err)
		}
	}
	return out
}

// benchTask lays out an alloc dir like the client's and returns the task.
func benchTask(b *testing.B, driver string, i int, taskConf map[string]interface{}) *drivers.TaskConfig {
	b.Helper()
	allocDir := b.TempDir()
	for _, d := range []string{"alloc/logs", "alloc/data", "alloc/tmp", "t/local", "t/secrets", "t/tmp"} {
		if err := os.MkdirAll(filepath.Join(allocDir, d), 0o777); err != nil {
			b.Fatal(err)
		}
	}
	raw, err := json.Marshal(taskConf)
	if err != nil {
		b.Fatal(err)
	}
	alloc := fmt.Sprintf("bench-%s-%d-%d", strings.ReplaceAll(driver, "_", "-"), i, time.Now().UnixNano())
	return &drivers.TaskConfig{
		ID: alloc + "/t/1", JobName: "bench", JobID: "bench", TaskGroupName: "g", Name: "t",
		Namespace: "default", AllocID: alloc,
		Env:        map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Resources:  &drivers.Resources{CPUShares: 100, MemoryMB: 64},
		AllocDir:   allocDir,
		TaskDir:    filepath.Join(allocDir, "t"),
		StdoutPath: filepath.Join(allocDir, "alloc/logs/t.stdout.0"),
		StderrPath: filepath.Join(allocDir, "alloc/logs/t.stderr.0"),

		DriverConfig: raw,
	}
}

// dockerCLILatencies times the docker CLI 20 times on the bench image.
func dockerCLILatencies(b *testing.B, detached bool) []time.Duration {
	b.Helper()
	var out []time.Duration
	for i := 0; i < benchStarts; i++ {
		name := fmt.Sprintf("nomadish-bench-cli-%d-%d", i, time.Now().UnixNano())
		args := []string{"run", "--rm", "--name", name, benchImage, "/bin/true"}
		if detached {
			args = []string{"run", "-d", "--rm", "--name", name, benchImage, "/bin/sleep", "300"}
		}
		start := time.Now()
		if o, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
			b.Fatalf("docker %v: %v\n%s", args, err, o)
		}
		out = append(out, time.Since(start))
		if detached {
			if o, err := exec.Command("docker", "rm", "-f", name).CombinedOutput(); err != nil {
				b.Fatalf("docker rm -f %s: %v\n%s", name, err, o)
			}
		}
	}
	return out
}

func reportMedian(b *testing.B, what string, lat []time.Duration) {
	b.Helper()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	med := lat[len(lat)/2]
	if len(lat)%2 == 0 {
		med = (lat[len(lat)/2-1] + lat[len(lat)/2]) / 2
	}
	b.ReportMetric(float64(med.Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(lat[0].Microseconds())/1000, "min-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.Logf("%s over %d starts: median %s, min %s, max %s", what, len(lat), med, lat[0], lat[len(lat)-1])
}
