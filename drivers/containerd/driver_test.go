package containerd_test

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/catalog"
	"github.com/nomadish/nomadish/drivers/containerd"
	"github.com/nomadish/nomadish/drivers/docker"
	"github.com/nomadish/nomadish/drivers/drivertest"
)

// The containerd that Docker runs; the test image is built by Docker and
// imported into it.
const (
	address     = "/var/run/docker/containerd/containerd.sock"
	namespace   = "nomadish-test"
	dockerImage = "nomadish-busybox:test"
)

func TestMain(m *testing.M) {
	catalog.MaybeServe()
	os.Exit(m.Run())
}

var (
	imageOnce sync.Once
	imageRef  string
	imageErr  error
)

func needImage(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(address); err != nil {
		drivertest.SkipOrFail(t, "no containerd socket: %v", err)
	}
	imageOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if imageErr = docker.BuildBusyboxImage(ctx, "", dockerImage, "/bin/busybox"); imageErr != nil {
			return
		}
		imageRef, imageErr = containerd.ImportFromDocker(ctx, address, namespace, containerd.DefaultSnapshotter, dockerImage)
	})
	if imageErr != nil {
		t.Fatalf("prepare test image: %v", imageErr)
	}
	return imageRef
}

func pluginConfig() []byte {
	b, _ := json.Marshal(containerd.Config{Address: address, Namespace: namespace})
	return b
}

func launch(t *testing.T) (drivers.DriverPlugin, *goplugin.Client) {
	t.Helper()
	needImage(t)
	return launchNoImage(t)
}

func launchNoImage(t *testing.T) (drivers.DriverPlugin, *goplugin.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logger := hclog.New(&hclog.LoggerOptions{Name: t.Name(), Level: hclog.Warn, Output: hclog.DefaultOutput})
	d, client, err := catalog.Launch(ctx, containerd.Name, logger)
	if err != nil {
		t.Fatalf("Launch(%s) = %v, want nil", containerd.Name, err)
	}
	return d, client
}

func TestConformance(t *testing.T) {
	drivertest.RunConformance(t, launch, drivertest.Config{
		PluginConfig: pluginConfig(),
		ShellTask: func(script string) map[string]interface{} {
			return map[string]interface{}{"image": imageRef, "command": "/bin/sh", "args": []string{"-c", script}}
		},
		EnforcesMemory: true,
		AllocDirInTask: "/alloc",
		Timeout:        60 * time.Second,
	})
}
