package containerd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nomadish/nomadish/drivers"
)

// The task config options of the community containerd driver beyond
// image, command and mounts: what they check and how they become the
// container's OCI spec.

// DefaultImagePullTimeout bounds a pull when image_pull_timeout is unset.
const DefaultImagePullTimeout = 5 * time.Minute

// ErrPrivilegedDisabled is returned for a privileged task when the plugin
// config does not set allow_privileged.
var ErrPrivilegedDisabled = errors.New("privileged containers are disabled on this client: set allow_privileged = true in the containerd plugin config")

// StringMap decodes a map of strings from a job file's map or blocks.
type StringMap = drivers.StringMap

func (tc *TaskConfig) imagePullTimeout() (time.Duration, error) {
	if tc.ImagePullTimeout == "" {
		return DefaultImagePullTimeout, nil
	}
	d, err := time.ParseDuration(tc.ImagePullTimeout)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("config.image_pull_timeout = %q, want a positive duration such as \"5m\"", tc.ImagePullTimeout)
	}
	return d, nil
}

// check reports every malformed option, each naming its field.
func (tc *TaskConfig) check() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, err := tc.imagePullTimeout(); err != nil {
		errs = append(errs, err)
	}
	if tc.PidsLimit < 0 {
		bad("config.pids_limit = %d, want >= 0", tc.PidsLimit)
	}
	if tc.FileLimit < 0 {
		bad("config.file_limit = %d, want >= 0", tc.FileLimit)
	}
	if tc.PidMode != "" && tc.PidMode != "host" {
		bad("config.pid_mode = %q, want \"host\" or unset", tc.PidMode)
	}
	if tc.ShmSize != "" {
		if _, err := parseSize(tc.ShmSize); err != nil {
			bad("config.shm_size = %q: %w", tc.ShmSize, err)
		}
	}
	for i, h := range tc.ExtraHosts {
		if _, _, err := splitExtraHost(h); err != nil {
			bad("config.extra_hosts[%d]: %w", i, err)
		}
	}
	for i, dev := range tc.Devices {
		if !filepath.IsAbs(dev) {
			bad("config.devices[%d] = %q, want an absolute device path", i, dev)
		}
	}
	if tc.SeccompProfile != "" && !tc.Seccomp {
		bad("config.seccomp_profile needs seccomp = true")
	}
	for _, k := range slices.Sorted(maps.Keys(tc.Sysctl)) {
		if k == "" || strings.ContainsAny(k, " =") {
			bad("config.sysctl: key %q, want a sysctl name such as net.core.somaxconn", k)
		}
	}
	return errs
}

// checkGates refuses what the plugin config or the task's network forbid.
func checkGates(cfg *drivers.TaskConfig, tc *TaskConfig, pc Config) error {
	if tc.Privileged && !pc.AllowPrivileged {
		return ErrPrivilegedDisabled
	}
	if tc.HostNetwork && cfg.NetworkIsolation != nil {
		return fmt.Errorf("config.host_network cannot be set in a group with its own network namespace (network mode %q)", cfg.NetworkIsolation.Mode)
	}
	return nil
}

// parseSize reads a size such as "64m", "128M", "1g" or a plain number of
// bytes; the units are binary (k is 1024).
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "b"), "i")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:n-1]
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n <= 0 {
		return 0, errors.New("want a size such as \"64M\" or \"1g\"")
	}
	return int64(n * float64(mult)), nil
}

// splitExtraHost splits "name:address".
func splitExtraHost(h string) (string, netip.Addr, error) {
	name, addr, ok := strings.Cut(h, ":")
	if !ok || name == "" {
		return "", netip.Addr{}, fmt.Errorf("%q: want \"name:address\"", h)
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return "", netip.Addr{}, fmt.Errorf("%q: address %q is not an IP address", h, addr)
	}
	return name, a, nil
}

// hostsOpt bind mounts the host's /etc/hosts, or, with extra hosts, a copy
// of it in the task dir with their lines added.
func hostsOpt(cfg *drivers.TaskConfig, extra []string) (oci.SpecOpts, error) {
	if len(extra) == 0 {
		return oci.WithHostHostsFile, nil
	}
	base, err := os.ReadFile("/etc/hosts")
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("config.extra_hosts: %w", err)
	}
	b := append([]byte(nil), base...)
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	for i, h := range extra {
		name, addr, err := splitExtraHost(h)
		if err != nil {
			return nil, fmt.Errorf("config.extra_hosts[%d]: %w", i, err)
		}
		b = fmt.Appendf(b, "%s\t%s\n", addr, name)
	}
	path := filepath.Join(cfg.TaskDir, "containerd-hosts")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return nil, fmt.Errorf("config.extra_hosts: %w", err)
	}
	return oci.WithMounts([]specs.Mount{{Destination: "/etc/hosts", Type: "bind", Source: path, Options: []string{"rbind", "ro"}}}), nil
}

// securityOpts are the capability, seccomp and privilege settings, in an
// order where cap_add wins over cap_drop (as in Docker) and privileged
// over both.
func securityOpts(tc *TaskConfig) []oci.SpecOpts {
	var opts []oci.SpecOpts
	var drop []string
	for _, c := range tc.CapDrop {
		if strings.EqualFold(c, "all") {
			opts = append(opts, oci.WithCapabilities(nil))
			continue
		}
		drop = append(drop, c)
	}
	if len(drop) > 0 {
		opts = append(opts, oci.WithDroppedCapabilities(capNames(drop)))
	}
	for _, c := range tc.CapAdd {
		if strings.EqualFold(c, "all") {
			opts = append(opts, oci.WithAllCurrentCapabilities)
		}
	}
	if add := withoutAll(tc.CapAdd); len(add) > 0 {
		opts = append(opts, oci.WithAddedCapabilities(capNames(add)))
	}
	if tc.Seccomp {
		if tc.SeccompProfile != "" {
			opts = append(opts, seccomp.WithProfile(tc.SeccompProfile))
		} else {
			opts = append(opts, seccomp.WithDefaultProfile())
		}
	}
	if tc.ReadonlyRootfs {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	if tc.Privileged {
		opts = append(opts, oci.WithPrivileged, oci.WithAllDevicesAllowed, oci.WithHostDevices)
	}
	return opts
}

func withoutAll(cs []string) []string {
	var out []string
	for _, c := range cs {
		if !strings.EqualFold(c, "all") {
			out = append(out, c)
		}
	}
	return out
}

// limitOpts are the namespaces, limits and metadata options.
func limitOpts(tc *TaskConfig) []oci.SpecOpts {
	var opts []oci.SpecOpts
	if tc.Hostname != "" {
		opts = append(opts, oci.WithHostname(tc.Hostname))
	}
	if tc.PidMode == "host" {
		opts = append(opts, oci.WithHostNamespace(specs.PIDNamespace))
	}
	if tc.PidsLimit > 0 {
		opts = append(opts, oci.WithPidsLimit(tc.PidsLimit))
	}
	if tc.FileLimit > 0 {
		n := uint64(tc.FileLimit)
		opts = append(opts, oci.WithRlimit(&specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Soft: n, Hard: n}))
	}
	if tc.ShmSize != "" {
		// DecodeTaskConfig checked the size.
		size, _ := parseSize(tc.ShmSize)
		opts = append(opts, withShmSize(size))
	}
	if len(tc.Sysctl) > 0 {
		opts = append(opts, withSysctl(tc.Sysctl))
	}
	for _, dev := range tc.Devices {
		opts = append(opts, oci.WithDevices(dev, "", "rwm"))
	}
	if len(tc.Annotations) > 0 {
		opts = append(opts, oci.WithAnnotations(tc.Annotations))
	}
	return opts
}

// withShmSize sets the size of the /dev/shm tmpfs.
func withShmSize(size int64) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		opt := fmt.Sprintf("size=%dk", max(size>>10, 1))
		for i, m := range s.Mounts {
			if m.Destination != "/dev/shm" {
				continue
			}
			var kept []string
			for _, o := range m.Options {
				if !strings.HasPrefix(o, "size=") {
					kept = append(kept, o)
				}
			}
			s.Mounts[i].Options = append(kept, opt)
			return nil
		}
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", opt}})
		return nil
	}
}

// withSysctl sets the sysctls of the container's namespaces.
func withSysctl(m StringMap) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		if s.Linux.Sysctl == nil {
			s.Linux.Sysctl = map[string]string{}
		}
		for k, v := range m {
			s.Linux.Sysctl[k] = v
		}
		return nil
	}
}
