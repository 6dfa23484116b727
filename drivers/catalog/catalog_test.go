package catalog

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadish/nomadish/drivers"
)

// envOrphaner makes the test binary launch a plugin, print its pid and
// exit without killing it.
const envOrphaner = "CATALOG_TEST_ORPHANER"

func TestMain(m *testing.M) {
	MaybeServe()
	if os.Getenv(envOrphaner) != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, client, err := Launch(ctx, "raw_exec", nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(client.ReattachConfig().Pid)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestPluginExitsWithClient checks that a plugin whose client died does
// not linger.
func TestPluginExitsWithClient(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), envOrphaner+"=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("orphaner: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("orphaner output %q: %v", out, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); err != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	t.Fatalf("plugin %d still runs 10s after its client exited", pid)
}

func TestBuiltin(t *testing.T) {
	got := Builtin()
	for _, want := range []string{"exec", "raw_exec"} {
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			t.Errorf("Builtin() = %v, want it to contain %q", got, want)
		}
		if s, ok := TaskConfigSchema(want); !ok || s == nil {
			t.Errorf("TaskConfigSchema(%q) = %v, %v, want a schema", want, s, ok)
		}
	}
	if _, ok := TaskConfigSchema("nope"); ok {
		t.Errorf("TaskConfigSchema(nope) ok = true, want false")
	}
}

func TestValidateTaskConfig(t *testing.T) {
	schema := &drivers.Schema{Fields: []*drivers.SchemaField{
		{Name: "command", Type: drivers.TypeString, Required: true},
		{Name: "args", Type: drivers.TypeListStr},
		{Name: "count", Type: drivers.TypeNumber},
		{Name: "debug", Type: drivers.TypeBool},
		{Name: "labels", Type: drivers.TypeMapStr},
		{Name: "extra", Type: drivers.TypeAny},
		{Name: "auth", Type: drivers.TypeBlock, Fields: []*drivers.SchemaField{
			{Name: "username", Type: drivers.TypeString, Required: true},
		}},
		{Name: "mount", Type: drivers.TypeBlockList, Fields: []*drivers.SchemaField{
			{Name: "target", Type: drivers.TypeString, Required: true},
			{Name: "readonly", Type: drivers.TypeBool},
		}},
	}}
	tests := []struct {
		name    string
		cfg     map[string]interface{}
		wantErr []string
	}{
		{
			name: "valid",
			cfg: map[string]interface{}{
				"command": "/bin/sh",
				"args":    []interface{}{"-c", "true"},
				"count":   float64(2),
				"debug":   true,
				"labels":  map[string]interface{}{"a": "b"},
				"extra":   []interface{}{1, "x"},
				"auth":    []interface{}{map[string]interface{}{"username": "u"}},
				"mount":   []interface{}{map[string]interface{}{"target": "/data", "readonly": true}},
			},
		},
		{
			name:    "missing required",
			cfg:     map[string]interface{}{},
			wantErr: []string{"config.command: required field is missing"},
		},
		{
			name:    "bad list element",
			cfg:     map[string]interface{}{"command": "x", "args": []interface{}{"ok", 3}},
			wantErr: []string{"config.args[1]: want string, got number"},
		},
		{
			name:    "unknown field",
			cfg:     map[string]interface{}{"command": "x", "comand": "y"},
			wantErr: []string{"config.comand: unknown field"},
		},
		{
			name: "every problem in nested blocks",
			cfg: map[string]interface{}{
				"command": 5,
				"labels":  map[string]interface{}{"a": true},
				"auth":    map[string]interface{}{},
				"mount":   []interface{}{map[string]interface{}{"target": "/a"}, map[string]interface{}{"readonly": "yes"}},
			},
			wantErr: []string{
				"config.auth.username: required field is missing",
				"config.command: want string, got number",
				"config.labels.a: want string, got bool",
				"config.mount[1].target: required field is missing",
				"config.mount[1].readonly: want bool, got string",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateTaskConfig(schema, tc.cfg)
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if !reflect.DeepEqual(got, tc.wantErr) {
				t.Errorf("ValidateTaskConfig() = %q, want %q", got, tc.wantErr)
			}
		})
	}
}

func TestLaunchUnknown(t *testing.T) {
	if _, _, err := Launch(context.Background(), "nope", nil); err == nil {
		t.Fatalf("Launch(nope) = nil error, want error")
	}
	if _, _, err := LaunchPath(context.Background(), "/no/such/plugin", nil); err == nil {
		t.Fatalf("LaunchPath(missing) = nil error, want error")
	}
}

// TestLaunchPath builds a third-party plugin binary and drives a task
// through it.
func TestLaunchPath(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin binary")
	}
	bin := filepath.Join(t.TempDir(), "extdriver")
	build := exec.Command("go", "build", "-o", bin, "./testdata/extdriver")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build extdriver: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d, client, err := LaunchPath(ctx, bin, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("LaunchPath() = %v, want nil", err)
	}
	defer client.Kill()
	if d.Name() != "raw_exec" {
		t.Fatalf("Name() = %q, want raw_exec", d.Name())
	}
	if err := d.SetConfig(ctx, []byte(`{"enabled":true}`)); err != nil {
		t.Fatalf("SetConfig() = %v", err)
	}
	dir := t.TempDir()
	cfg := &drivers.TaskConfig{
		ID: "ext/task/1", Name: "task", AllocDir: dir, TaskDir: filepath.Join(dir, "task"),
		StdoutPath: filepath.Join(dir, "out"), StderrPath: filepath.Join(dir, "err"),
		DriverConfig: []byte(`{"command":"/bin/sh","args":["-c","echo ext; exit 2"]}`),
	}
	if err := os.MkdirAll(cfg.TaskDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := d.StartTask(ctx, cfg); err != nil {
		t.Fatalf("StartTask() = %v", err)
	}
	ch, err := d.WaitTask(ctx, cfg.ID)
	if err != nil {
		t.Fatalf("WaitTask() = %v", err)
	}
	if res := <-ch; res == nil || res.ExitCode != 2 {
		t.Fatalf("exit = %+v, want code 2", res)
	}
	if b, _ := os.ReadFile(cfg.StdoutPath); string(b) != "ext\n" {
		t.Fatalf("stdout = %q, want \"ext\\n\"", b)
	}
	if err := d.DestroyTask(ctx, cfg.ID, false); err != nil {
		t.Fatalf("DestroyTask() = %v", err)
	}
}
