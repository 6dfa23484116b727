package containerd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nomadish/nomadish/drivers"
)

// ErrHostMountsDisabled is returned for a mount of a host path outside the
// allocation when the plugin config does not enable volumes.
var ErrHostMountsDisabled = errors.New("host path mounts are disabled on this client: set volumes { enabled = true } in the containerd plugin config")

// VolumesConfig is the plugin config's volumes block.
type VolumesConfig struct {
	// Enabled allows mounts of host paths outside the allocation dir.
	Enabled bool `json:"enabled"`
}

// Mount is one entry of the task config's mounts list.
type Mount struct {
	// Type is "bind" (the default) or another mount type such as "tmpfs".
	Type string `json:"type"`
	// Source is a host path for bind mounts: relative to the task dir, or
	// absolute (inside the allocation dir, or anywhere with volumes enabled).
	Source string `json:"source"`
	// Target is the absolute path in the container.
	Target string `json:"target"`
	// Options are mount options; ["rbind"] for a bind mount when empty.
	Options []string `json:"options"`
}

func (m Mount) typ() string {
	if m.Type == "" {
		return "bind"
	}
	return m.Type
}

// Block decodes a nested block that an agent file may turn into a
// one-element list of objects.
type Block[T any] struct {
	V T
}

// UnmarshalJSON accepts {...} and [{...}].
func (b *Block[T]) UnmarshalJSON(raw []byte) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		raw = append(append([]byte{'['}, raw...), ']')
	}
	var list []T
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&list); err != nil {
		return err
	}
	switch len(list) {
	case 0:
	case 1:
		b.V = list[0]
	default:
		return fmt.Errorf("want one block, got %d", len(list))
	}
	return nil
}

// MarshalJSON writes the block as an object.
func (b Block[T]) MarshalJSON() ([]byte, error) { return json.Marshal(b.V) }

// checkMounts reports every malformed mount.
func checkMounts(ms []Mount) []error {
	var errs []error
	for i, m := range ms {
		if !strings.HasPrefix(m.Target, "/") {
			errs = append(errs, fmt.Errorf("config.mounts[%d].target = %q, want an absolute path", i, m.Target))
		}
		if m.typ() == "bind" && m.Source == "" {
			errs = append(errs, fmt.Errorf("config.mounts[%d].source is required for a bind mount", i))
		}
	}
	return errs
}

// within reports whether p is dir or below it.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// hostPath resolves a path of the task config: relative to the task dir;
// outside the allocation dir only when allowed.
func hostPath(cfg *drivers.TaskConfig, src string, allowed bool) (string, error) {
	p := src
	if !filepath.IsAbs(p) {
		p = filepath.Join(cfg.TaskDir, p)
	}
	p = filepath.Clean(p)
	if !allowed && !within(cfg.AllocDir, p) {
		return "", fmt.Errorf("%s: %w", src, ErrHostMountsDisabled)
	}
	return p, nil
}

// userMounts turns the task's mounts into OCI mounts.
func userMounts(cfg *drivers.TaskConfig, ms []Mount, allowed bool) ([]specs.Mount, error) {
	var out []specs.Mount
	var errs []error
	for i, m := range ms {
		sm := specs.Mount{Type: m.typ(), Source: m.Source, Destination: m.Target, Options: m.Options}
		if sm.Type == "bind" {
			src, err := hostPath(cfg, m.Source, allowed)
			if err != nil {
				errs = append(errs, fmt.Errorf("config.mounts[%d]: %w", i, err))
				continue
			}
			sm.Source = src
			if len(sm.Options) == 0 {
				sm.Options = []string{"rbind"}
			}
		}
		out = append(out, sm)
	}
	return out, errors.Join(errs...)
}

// importArchive loads an OCI or docker image archive (docker save) into
// the namespace and returns the names of the images it held.
func importArchive(ctx context.Context, cli *containerd.Client, path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("image_archive: %w", err)
	}
	defer f.Close()
	imgs, err := cli.Import(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("image_archive %s: import: %w", path, err)
	}
	names := make([]string, 0, len(imgs))
	for _, img := range imgs {
		names = append(names, img.Name)
	}
	return names, nil
}

// lookupImage finds ref as given, then in its normalized form
// (busybox:1 is docker.io/library/busybox:1).
func lookupImage(ctx context.Context, cli *containerd.Client, ref string) (containerd.Image, error) {
	img, err := cli.GetImage(ctx, ref)
	if !cerrdefs.IsNotFound(err) {
		return img, err
	}
	named, perr := reference.ParseDockerRef(ref)
	if perr != nil || named.String() == ref {
		return nil, err
	}
	return cli.GetImage(ctx, named.String())
}

// processArgs is the process's argv: entrypoint, then command, then args;
// nil keeps the image's.
func processArgs(tc *TaskConfig) []string {
	var argv []string
	argv = append(argv, tc.Entrypoint...)
	if tc.Command != "" {
		argv = append(argv, tc.Command)
	}
	if len(tc.Entrypoint) == 0 && tc.Command == "" {
		return nil
	}
	return append(argv, tc.Args...)
}
