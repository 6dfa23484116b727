package docker_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/catalog"
	"github.com/nomadish/nomadish/drivers/docker"
	"github.com/nomadish/nomadish/drivers/drivertest"
)

const testImage = "nomadish-busybox:test"

func TestMain(m *testing.M) {
	catalog.MaybeServe()
	os.Exit(m.Run())
}

var (
	imageOnce sync.Once
	imageErr  error
)

// needImage builds the test image once, or skips without a Docker Engine.
func needImage(t *testing.T) {
	t.Helper()
	imageOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		imageErr = docker.BuildBusyboxImage(ctx, "", testImage, "/bin/busybox")
	})
	if imageErr != nil {
		if strings.Contains(imageErr.Error(), "connect") {
			drivertest.SkipOrFail(t, "no docker engine: %v", imageErr)
		}
		t.Fatalf("build test image: %v", imageErr)
	}
}

func launch(t *testing.T) (drivers.DriverPlugin, *goplugin.Client) {
	t.Helper()
	needImage(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logger := hclog.New(&hclog.LoggerOptions{Name: t.Name(), Level: hclog.Warn, Output: hclog.DefaultOutput})
	d, client, err := catalog.Launch(ctx, docker.Name, logger)
	if err != nil {
		t.Fatalf("Launch(%s) = %v, want nil", docker.Name, err)
	}
	return d, client
}

func shellTask(script string) map[string]interface{} {
	return map[string]interface{}{"image": testImage, "command": "/bin/sh", "args": []string{"-c", script}}
}

func TestConformance(t *testing.T) {
	drivertest.RunConformance(t, launch, drivertest.Config{
		ShellTask:      shellTask,
		EnforcesMemory: true,
		AllocDirInTask: "/alloc",
		Timeout:        60 * time.Second,
	})
}

func TestMissingImage(t *testing.T) {
	d, client := launch(t)
	defer client.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	events, err := d.TaskEvents(ctx)
	if err != nil {
		t.Fatalf("TaskEvents() = %v", err)
	}
	cfg := drivertest.NewTaskConfig(t, map[string]interface{}{"image": "nomadish-no-such-image:1"})
	if _, err := d.StartTask(ctx, cfg); err == nil {
		t.Fatalf("StartTask(missing image) = nil, want error")
	}
	select {
	case ev := <-events:
		if ev.TaskID != cfg.ID || ev.Annotations["image"] != "nomadish-no-such-image:1" {
			t.Fatalf("TaskEvents() = %+v, want a pull event for the task", ev)
		}
	case <-ctx.Done():
		t.Fatalf("TaskEvents() sent nothing")
	}
}
