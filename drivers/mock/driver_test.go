package mock_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/catalog"
	"github.com/nomadish/nomadish/drivers/drivertest"
	"github.com/nomadish/nomadish/drivers/mock"
)

func TestMain(m *testing.M) {
	catalog.MaybeServe()
	os.Exit(m.Run())
}

func launch(t *testing.T) drivers.DriverPlugin {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, client, err := catalog.Launch(ctx, mock.Name, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("Launch(%s) = %v", mock.Name, err)
	}
	t.Cleanup(client.Kill)
	return d
}

func start(t *testing.T, d drivers.DriverPlugin, cfg map[string]interface{}) (*drivers.TaskConfig, <-chan *drivers.ExitResult) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	tc := drivertest.NewTaskConfig(t, cfg)
	if _, err := d.StartTask(ctx, tc); err != nil {
		t.Fatalf("StartTask() = %v", err)
	}
	ch, err := d.WaitTask(ctx, tc.ID)
	if err != nil {
		t.Fatalf("WaitTask() = %v", err)
	}
	return tc, ch
}

func TestRunForAndExit(t *testing.T) {
	d := launch(t)
	tc, ch := start(t, d, map[string]interface{}{"run_for": "200ms", "exit_code": 3, "stdout_string": "hi\n"})
	if res := <-ch; res == nil || res.ExitCode != 3 {
		t.Fatalf("exit = %+v, want code 3", res)
	}
	if b, _ := os.ReadFile(tc.StdoutPath); string(b) != "hi\n" {
		t.Fatalf("stdout = %q, want \"hi\\n\"", b)
	}
}

func TestStopHonoursKillAfter(t *testing.T) {
	d := launch(t)
	tc, ch := start(t, d, map[string]interface{}{"kill_after": "10s"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.StopTask(ctx, tc.ID, 300*time.Millisecond, "SIGTERM"); err != nil {
		t.Fatalf("StopTask() = %v", err)
	}
	if res := <-ch; res == nil || res.Signal != int(syscall.SIGKILL) {
		t.Fatalf("exit = %+v, want killed", res)
	}
}

func TestStartError(t *testing.T) {
	d := launch(t)
	tc := drivertest.NewTaskConfig(t, map[string]interface{}{"start_error": "no luck"})
	_, err := d.StartTask(context.Background(), tc)
	if err == nil || !strings.Contains(err.Error(), "no luck") {
		t.Fatalf("StartTask() = %v, want \"no luck\"", err)
	}
	bad := drivertest.NewTaskConfig(t, map[string]interface{}{"run_for": "soon"})
	if _, err := d.StartTask(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "config.run_for") {
		t.Fatalf("StartTask(bad run_for) = %v, want error naming config.run_for", err)
	}
}

func TestRecoverKeepsSchedule(t *testing.T) {
	d := launch(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tc := drivertest.NewTaskConfig(t, map[string]interface{}{"run_for": "500ms", "exit_code": 4})
	h, err := d.StartTask(ctx, tc)
	if err != nil {
		t.Fatalf("StartTask() = %v", err)
	}
	raw, _ := json.Marshal(h)
	var h2 drivers.TaskHandle
	_ = json.Unmarshal(raw, &h2)
	d2 := launch(t)
	if err := d2.RecoverTask(ctx, &h2); err != nil {
		t.Fatalf("RecoverTask() = %v", err)
	}
	ch, err := d2.WaitTask(ctx, tc.ID)
	if err != nil {
		t.Fatalf("WaitTask() = %v", err)
	}
	if res := <-ch; res == nil || res.ExitCode != 4 {
		t.Fatalf("exit after recover = %+v, want code 4", res)
	}
}
