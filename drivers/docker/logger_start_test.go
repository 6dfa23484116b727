package docker

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/nomadish/nomadish/drivers/drivertest"
)

// TestLoggerFollowsAContainerThatStartsLater starts the log copier on a
// created container, as the driver does, and the container only later: a
// quick task's whole output must still reach the file.
func TestLoggerFollowsAContainerThatStartsLater(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const tag = "nomadish-busybox:logger-test"
	if err := BuildBusyboxImage(ctx, "", tag, "/bin/busybox"); err != nil {
		if strings.Contains(err.Error(), "connect") {
			drivertest.SkipOrFail(t, "no docker engine: %v", err)
		}
		t.Fatalf("build test image: %v", err)
	}
	cli, err := newClient("")
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: tag, Cmd: []string{"/bin/sh", "-c", "echo quick output"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = cli.ContainerRemove(context.Background(), created.ID, client.ContainerRemoveOptions{Force: true})
	}()
	dir := t.TempDir()
	spec := &loggerSpec{ContainerID: created.ID, Stdout: filepath.Join(dir, "out"), Stderr: filepath.Join(dir, "err")}
	done := make(chan error, 1)
	go func() { done <- copyLogs(spec) }()
	time.Sleep(300 * time.Millisecond) // the copier has asked for the log by now
	if _, err := cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("copyLogs() = %v", err)
		}
	case <-ctx.Done():
		t.Fatal("copyLogs() did not return after the container exited")
	}
	b, _ := os.ReadFile(spec.Stdout)
	if string(b) != "quick output\n" {
		t.Fatalf("stdout = %q, want %q", b, "quick output\n")
	}
}
