package rawexec_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/catalog"
	"github.com/nomadish/nomadish/drivers/drivertest"
	"github.com/nomadish/nomadish/drivers/rawexec"
)

func TestMain(m *testing.M) {
	catalog.MaybeServe()
	os.Exit(m.Run())
}

func launch(t *testing.T) (drivers.DriverPlugin, *goplugin.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logger := hclog.New(&hclog.LoggerOptions{Name: t.Name(), Level: hclog.Warn, Output: hclog.DefaultOutput})
	d, client, err := catalog.Launch(ctx, rawexec.Name, logger)
	if err != nil {
		t.Fatalf("Launch(%s) = %v, want nil", rawexec.Name, err)
	}
	return d, client
}

func shellTask(script string) map[string]interface{} {
	return map[string]interface{}{"command": "/bin/sh", "args": []string{"-c", script}}
}

func TestConformance(t *testing.T) {
	drivertest.RunConformance(t, launch, drivertest.Config{
		PluginConfig: []byte(`{"enabled": true}`),
		ShellTask:    shellTask,
	})
}

func TestDisabledByDefault(t *testing.T) {
	d, client := launch(t)
	defer client.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch, err := d.Fingerprint(ctx)
	if err != nil {
		t.Fatalf("Fingerprint() = %v, want nil", err)
	}
	if fp := <-ch; fp.Health != drivers.HealthStateUndetected {
		t.Fatalf("Fingerprint() health = %q, want %q", fp.Health, drivers.HealthStateUndetected)
	}
	cfg := drivertest.NewTaskConfig(t, shellTask("true"))
	if _, err := d.StartTask(ctx, cfg); err == nil {
		t.Fatalf("StartTask() on disabled driver = nil, want error")
	}
	if err := d.SetConfig(ctx, []byte(`{"enabled": true}`)); err != nil {
		t.Fatalf("SetConfig() = %v, want nil", err)
	}
	fp := <-ch
	if fp.Health != drivers.HealthStateHealthy || fp.Attributes["driver.raw_exec"] != "1" {
		t.Fatalf("Fingerprint() after enable = %+v, want healthy with driver.raw_exec=1", fp)
	}
}
