package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/moby/moby/client"
)

// BuildBusyboxImage builds image tag FROM scratch holding a static
// busybox and its applet links in /bin, for hosts without a registry.
func BuildBusyboxImage(ctx context.Context, endpoint, tag, busybox string) error {
	bin, err := os.ReadFile(busybox)
	if err != nil {
		return fmt.Errorf("read busybox: %w", err)
	}
	dockerfile := "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nCMD [\"/bin/sh\"]\n"
	cli, err := newClient(endpoint)
	if err != nil {
		return err
	}
	defer cli.Close()
	if err := buildImage(ctx, cli, tag, dockerfile, buildFile{"busybox", 0o755, bin}); err != nil {
		return err
	}
	if _, err := cli.ImageInspect(ctx, tag); err != nil {
		return fmt.Errorf("build %s: %w", tag, err)
	}
	return nil
}

// buildFile is a file of a build context besides its Dockerfile.
type buildFile struct {
	name string
	mode int64
	data []byte
}

// buildImage builds image tag from a Dockerfile and files on the engine,
// reading the build's output to its end for the first error.
func buildImage(ctx context.Context, cli *client.Client, tag, dockerfile string, files ...buildFile) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range append([]buildFile{{"Dockerfile", 0o644, []byte(dockerfile)}}, files...) {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	res, err := cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true})
	if err != nil {
		return fmt.Errorf("build %s: %w", tag, err)
	}
	defer res.Body.Close()
	dec := json.NewDecoder(res.Body)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("build %s: %w", tag, err)
		}
		if msg.Error != "" {
			return fmt.Errorf("build %s: %s", tag, msg.Error)
		}
	}
}
