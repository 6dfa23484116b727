package plugin

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/nomadish/nomadish/drivers"
)

// netRecorder is a recorder that also makes network namespaces.
type netRecorder struct {
	recorder
	destroyed []any
}

var _ drivers.NetworkManager = (*netRecorder)(nil)

func (r *netRecorder) CreateNetwork(_ context.Context, allocID string) (*drivers.NetworkIsolationSpec, error) {
	if allocID == "" {
		return nil, errors.New("no alloc id")
	}
	return &drivers.NetworkIsolationSpec{Mode: drivers.NetIsolationModeGroup, Path: "/proc/42/ns/net", Labels: map[string]string{"container": "c-" + allocID}}, nil
}

func (r *netRecorder) DestroyNetwork(_ context.Context, allocID string, spec *drivers.NetworkIsolationSpec) error {
	r.mu.Lock()
	r.destroyed = []any{allocID, spec}
	r.mu.Unlock()
	return nil
}

func dispense(t *testing.T, impl drivers.DriverPlugin) drivers.DriverPlugin {
	t.Helper()
	client, _ := goplugin.TestPluginGRPCConn(t, false, PluginMap(impl))
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(PluginName)
	if err != nil {
		t.Fatalf("Dispense() = %v", err)
	}
	return raw.(drivers.DriverPlugin)
}

func TestNetworkManagerRoundTrip(t *testing.T) {
	rec := &netRecorder{recorder: recorder{exit: make(chan *drivers.ExitResult, 1)}}
	d := dispense(t, rec)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nm, ok := d.(drivers.NetworkManager)
	if !ok {
		t.Fatalf("plugin client %T does not implement NetworkManager", d)
	}
	spec, err := nm.CreateNetwork(ctx, "a1")
	want := &drivers.NetworkIsolationSpec{Mode: "group", Path: "/proc/42/ns/net", Labels: map[string]string{"container": "c-a1"}}
	if err != nil || !reflect.DeepEqual(spec, want) {
		t.Fatalf("CreateNetwork(a1) = %+v, %v, want %+v", spec, err, want)
	}
	if _, err := nm.CreateNetwork(ctx, ""); err == nil || err.Error() != "no alloc id" {
		t.Fatalf("CreateNetwork(\"\") = %v, want the driver's error", err)
	}
	if err := nm.DestroyNetwork(ctx, "a1", spec); err != nil {
		t.Fatalf("DestroyNetwork() = %v", err)
	}
	rec.mu.Lock()
	got := rec.destroyed
	rec.mu.Unlock()
	if !reflect.DeepEqual(got, []any{"a1", want}) {
		t.Fatalf("plugin got destroy %v, want [a1 %+v]", got, want)
	}

	// The namespace travels with the task config.
	cfg := &drivers.TaskConfig{ID: "t1", NetworkNamespace: spec.Path, NetworkIsolation: spec}
	if _, err := d.StartTask(ctx, cfg); err != nil {
		t.Fatalf("StartTask() = %v", err)
	}
	rec.mu.Lock()
	started := rec.started
	rec.mu.Unlock()
	if !reflect.DeepEqual(started.NetworkIsolation, want) || started.NetworkNamespace != want.Path {
		t.Fatalf("plugin got network %+v (%q), want %+v", started.NetworkIsolation, started.NetworkNamespace, want)
	}
}

func TestNetworkManagerNotSupported(t *testing.T) {
	d := dispense(t, &recorder{exit: make(chan *drivers.ExitResult, 1)})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nm := d.(drivers.NetworkManager)
	if _, err := nm.CreateNetwork(ctx, "a1"); !errors.Is(err, drivers.ErrNotSupported) {
		t.Fatalf("CreateNetwork() on a driver without it = %v, want ErrNotSupported", err)
	}
	if err := nm.DestroyNetwork(ctx, "a1", nil); !errors.Is(err, drivers.ErrNotSupported) {
		t.Fatalf("DestroyNetwork() on a driver without it = %v, want ErrNotSupported", err)
	}
}
