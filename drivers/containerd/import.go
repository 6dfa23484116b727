package containerd

import (
	"context"
	"errors"
	"fmt"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/moby/moby/client"
)

// ImportFromDocker copies image ref from the local Docker Engine into
// containerd's namespace and unpacks it, for hosts without a registry. It
// returns the name containerd stored the image under.
func ImportFromDocker(ctx context.Context, address, namespace, snapshotter, ref string) (string, error) {
	dc, err := client.New(client.FromEnv)
	if err != nil {
		return "", err
	}
	defer dc.Close()
	archive, err := dc.ImageSave(ctx, []string{ref})
	if err != nil {
		return "", fmt.Errorf("save %s from docker: %w", ref, err)
	}
	defer archive.Close()
	cc, err := containerd.New(address, containerd.WithDefaultNamespace(namespace))
	if err != nil {
		return "", err
	}
	defer cc.Close()
	ctx = namespaces.WithNamespace(ctx, namespace)
	imgs, err := cc.Import(ctx, archive)
	if err != nil {
		return "", fmt.Errorf("import %s into containerd: %w", ref, err)
	}
	if len(imgs) == 0 {
		return "", errors.New("import: archive held no image")
	}
	img := containerd.NewImage(cc, imgs[0])
	if err := img.Unpack(ctx, snapshotter); err != nil {
		return "", fmt.Errorf("unpack %s: %w", imgs[0].Name, err)
	}
	return imgs[0].Name, nil
}
