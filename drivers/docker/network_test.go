package docker

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/nomadish/nomadish/drivers"
)

// TestContainerConfigGroupNetwork checks a task of a bridge-mode group:
// it joins the pause container's namespace, and publishes no ports, which
// the client maps.
func TestContainerConfigGroupNetwork(t *testing.T) {
	base := func() *drivers.TaskConfig {
		cfg := &drivers.TaskConfig{ID: "a/web/1", AllocID: "a", Name: "web", AllocDir: t.TempDir(),
			Resources: &drivers.Resources{CPUShares: 100, MemoryMB: 64},
			Ports:     []drivers.PortMapping{{Label: "http", Value: 25000, To: 8080}}}
		cfg.TaskDir = filepath.Join(cfg.AllocDir, "web")
		return cfg
	}
	group := &drivers.NetworkIsolationSpec{Mode: drivers.NetIsolationModeGroup, Path: "/proc/7/ns/net", Labels: map[string]string{SpecLabelContainer: "abc123"}}

	cfg := base()
	cfg.NetworkIsolation, cfg.NetworkNamespace = group, group.Path
	cc, hc, err := (&Driver{}).containerConfig(cfg, &TaskConfig{Image: "i"}, Config{})
	if err != nil {
		t.Fatalf("containerConfig() = %v", err)
	}
	if hc.NetworkMode != "container:abc123" || len(hc.PortBindings) != 0 || len(cc.ExposedPorts) != 0 {
		t.Fatalf("containerConfig() network mode %q, bindings %v, exposed %v; want container:abc123 and no ports", hc.NetworkMode, hc.PortBindings, cc.ExposedPorts)
	}

	// Host mode keeps publishing the ports itself.
	_, hc, err = (&Driver{}).containerConfig(base(), &TaskConfig{Image: "i"}, Config{})
	if err != nil || len(hc.PortBindings) != 1 {
		t.Fatalf("containerConfig() in host mode = %v, bindings %v; want one binding", err, hc.PortBindings)
	}

	tests := []struct {
		name    string
		tc      TaskConfig
		spec    *drivers.NetworkIsolationSpec
		wantErr string
	}{
		{"network_mode set", TaskConfig{Image: "i", NetworkMode: "bridge"}, group, `config.network_mode "bridge" cannot be set`},
		{"namespace not from docker", TaskConfig{Image: "i"}, &drivers.NetworkIsolationSpec{Mode: drivers.NetIsolationModeGroup, Path: "/var/run/netns/x"}, "not made by the docker driver"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			cfg.NetworkIsolation = tc.spec
			_, _, err := (&Driver{}).containerConfig(cfg, &tc.tc, Config{})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("containerConfig() = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}
