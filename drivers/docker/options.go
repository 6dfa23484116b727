package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"

	"github.com/nomadish/nomadish/drivers"
)

// The capabilities Docker gives a container, and those Nomad lets a task
// keep or add by default: Docker's without NET_RAW.
var (
	dockerDefaultCaps = []string{"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
	// DefaultAllowCaps is allow_caps when the plugin config has none.
	DefaultAllowCaps = []string{"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
	// DefaultAllowRuntimes is allow_runtimes when the plugin config has none.
	DefaultAllowRuntimes = []string{"runc", "nvidia"}
)

// ErrCapNotAllowed is returned for a cap_add outside the plugin's allow_caps.
var ErrCapNotAllowed = errors.New("not in the docker plugin config's allow_caps")

// ErrRuntimeNotAllowed is returned for a runtime outside allow_runtimes.
var ErrRuntimeNotAllowed = errors.New("not in the docker plugin config's allow_runtimes")

// capName is a capability's name as compared: upper case, no CAP_ prefix.
func capName(c string) string {
	return strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(c)), "CAP_")
}

// capabilities computes the container's CapAdd and CapDrop as Nomad does:
// cap_add must stay within allow_caps ("ALL" there allows any), Docker's
// default capabilities that allow_caps leaves out are dropped, then
// cap_drop; what cap_add names is never dropped.
func capabilities(allow, add, drop []string) (capAdd, capDrop []string, err error) {
	if allow == nil {
		allow = DefaultAllowCaps
	}
	allowed := map[string]bool{}
	for _, c := range allow {
		allowed[capName(c)] = true
	}
	added := map[string]bool{}
	var missing []string
	for _, c := range add {
		n := capName(c)
		if !allowed["ALL"] && !allowed[n] {
			missing = append(missing, strings.ToLower(n))
			continue
		}
		if !added[n] {
			added[n] = true
			capAdd = append(capAdd, "CAP_"+n)
		}
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("config.cap_add: %s %w", strings.Join(missing, ", "), ErrCapNotAllowed)
	}
	if added["ALL"] {
		capAdd = []string{"ALL"}
	}
	dropSet := map[string]bool{}
	for _, c := range drop {
		dropSet[capName(c)] = true
	}
	if dropSet["ALL"] {
		return capAdd, []string{"ALL"}, nil
	}
	if !allowed["ALL"] {
		for _, c := range dockerDefaultCaps {
			if !allowed[c] {
				dropSet[c] = true
			}
		}
	}
	for _, c := range slices.Sorted(maps.Keys(dropSet)) {
		if !added[c] && !added["ALL"] {
			capDrop = append(capDrop, "CAP_"+c)
		}
	}
	return capAdd, capDrop, nil
}

// ulimits parses the ulimit map: each value is "soft" or "soft:hard".
func ulimits(m StringMap) ([]*container.Ulimit, error) {
	var out []*container.Ulimit
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(m)) {
		v := m[name]
		softS, hardS, two := strings.Cut(v, ":")
		soft, err1 := strconv.ParseInt(strings.TrimSpace(softS), 10, 64)
		hard, err2 := soft, error(nil)
		if two {
			hard, err2 = strconv.ParseInt(strings.TrimSpace(hardS), 10, 64)
		}
		switch {
		case err1 != nil || err2 != nil:
			errs = append(errs, fmt.Errorf("config.ulimit.%s = %q, want \"soft\" or \"soft:hard\" as integers", name, v))
		case soft > hard:
			errs = append(errs, fmt.Errorf("config.ulimit.%s = %q, want the soft limit at most the hard limit", name, v))
		default:
			out = append(out, &container.Ulimit{Name: name, Soft: soft, Hard: hard})
		}
	}
	return out, errors.Join(errs...)
}

// mapping is the Engine's device mapping: the container path defaults to
// the host path, the permissions to "rwm".
func (d Device) mapping() (container.DeviceMapping, error) {
	m := container.DeviceMapping{PathOnHost: d.HostPath, PathInContainer: d.ContainerPath, CgroupPermissions: d.CgroupPermissions}
	if !filepath.IsAbs(d.HostPath) {
		return m, fmt.Errorf("host_path = %q, want an absolute path", d.HostPath)
	}
	if m.PathInContainer == "" {
		m.PathInContainer = d.HostPath
	}
	if !filepath.IsAbs(m.PathInContainer) {
		return m, fmt.Errorf("container_path = %q, want an absolute path", d.ContainerPath)
	}
	if m.CgroupPermissions == "" {
		m.CgroupPermissions = "rwm"
	}
	if strings.Trim(m.CgroupPermissions, "rwm") != "" || len(m.CgroupPermissions) > 3 {
		return m, fmt.Errorf("cgroup_permissions = %q, want a combination of r, w and m", d.CgroupPermissions)
	}
	return m, nil
}

// checkExtraHost checks a "name:address" extra_hosts entry. The address
// may be an IPv6 address, or Docker's "host-gateway".
func checkExtraHost(h string) error {
	name, addr, ok := strings.Cut(h, ":")
	if !ok || name == "" {
		return fmt.Errorf("%q: want \"name:address\"", h)
	}
	if _, err := netip.ParseAddr(addr); err != nil && addr != "host-gateway" {
		return fmt.Errorf("%q: address %q is not an IP address", h, addr)
	}
	return nil
}

// splitSecurityOpt splits "key=value" (or the older "key:value"); a bare
// "no-new-privileges" has no value.
func splitSecurityOpt(o string) (key, value string, err error) {
	if o == "no-new-privileges" {
		return o, "", nil
	}
	if k, v, ok := strings.Cut(o, "="); ok {
		return k, v, nil
	}
	if k, v, ok := strings.Cut(o, ":"); ok {
		return k, v, nil
	}
	return "", "", fmt.Errorf("%q: want \"key=value\" or \"no-new-privileges\"", o)
}

// securityOpts passes security_opt to the Engine, inlining the profile a
// "seccomp=<file>" names, as Docker's CLI does; the file is on the client.
func securityOpts(opts []string) ([]string, error) {
	out := make([]string, 0, len(opts))
	for i, o := range opts {
		k, v, err := splitSecurityOpt(o)
		if err != nil {
			return nil, fmt.Errorf("config.security_opt[%d]: %w", i, err)
		}
		if k == "seccomp" && v != "unconfined" && v != "" && !strings.HasPrefix(v, "{") {
			b, err := os.ReadFile(v)
			if err != nil {
				return nil, fmt.Errorf("config.security_opt[%d]: seccomp profile: %w", i, err)
			}
			var buf bytes.Buffer
			if err := json.Compact(&buf, b); err != nil {
				return nil, fmt.Errorf("config.security_opt[%d]: seccomp profile %s: %w", i, v, err)
			}
			o = "seccomp=" + buf.String()
		}
		out = append(out, o)
	}
	return out, nil
}

// pidsLimit is the task's limit, within the plugin's; nil leaves the
// Engine's default (unlimited).
func pidsLimit(pc Config, tc *TaskConfig) (*int64, error) {
	limit := pc.PidsLimit
	if tc.PidsLimit > 0 {
		if pc.PidsLimit > 0 && tc.PidsLimit > pc.PidsLimit {
			return nil, fmt.Errorf("config.pids_limit = %d is above the docker plugin config's pids_limit %d", tc.PidsLimit, pc.PidsLimit)
		}
		limit = tc.PidsLimit
	}
	if limit <= 0 {
		return nil, nil
	}
	return &limit, nil
}

// checkRuntime refuses a runtime the plugin config does not allow.
func checkRuntime(pc Config, name string) error {
	if name == "" {
		return nil
	}
	allow := pc.AllowRuntimes
	if allow == nil {
		allow = DefaultAllowRuntimes
	}
	if !slices.Contains(allow, name) {
		return fmt.Errorf("config.runtime %q %w", name, ErrRuntimeNotAllowed)
	}
	return nil
}

// cpuQuota is the CFS period and quota that hold a task to its cpu MHz:
// the MHz as a share of one core's clock, times the period.
func cpuQuota(shares, period int64, coreMHz float64) (int64, int64) {
	if period == 0 {
		period = 100000
	}
	quota := int64(float64(shares) / coreMHz * float64(period))
	// The kernel takes no quota below 1ms.
	return period, max(quota, 1000)
}

// coreMHz is the fastest core's clock from /proc/cpuinfo, as the client's
// fingerprint reads it once at start, or 1000 MHz as it assumes. It is read
// once: the current clock moves, the scheduler's figure does not.
var coreMHz = sync.OnceValue(readCoreMHz)

func readCoreMHz() float64 {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return 1000
	}
	defer f.Close()
	best := 0.0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(k) != "cpu MHz" {
			continue
		}
		if mhz, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && mhz > best {
			best = mhz
		}
	}
	if best <= 0 {
		return 1000
	}
	return best
}

// engineMount turns a mount block into the Engine's mount. Bind sources
// resolve as hostPath does; named volumes need volumes enabled.
func engineMount(cfg *drivers.TaskConfig, m Mount, enabled bool) (mount.Mount, error) {
	dm := mount.Mount{Type: mount.Type(m.typ()), Source: m.Source, Target: m.Target, ReadOnly: m.Readonly}
	var err error
	switch dm.Type {
	case mount.TypeBind:
		dm.Source, err = hostPath(cfg.AllocDir, cfg.TaskDir, m.Source, enabled)
		if p := m.BindOptions.V.Propagation; p != "" {
			dm.BindOptions = &mount.BindOptions{Propagation: mount.Propagation(p)}
		}
	case mount.TypeVolume:
		if !enabled {
			err = fmt.Errorf("named volume %s: %w", m.Source, ErrVolumesDisabled)
		}
		vo := m.VolumeOptions.V
		if vo.NoCopy || len(vo.Labels) > 0 || vo.DriverConfig.V.Name != "" || len(vo.DriverConfig.V.Options) > 0 {
			dm.VolumeOptions = &mount.VolumeOptions{NoCopy: vo.NoCopy, Labels: vo.Labels}
			if dc := vo.DriverConfig.V; dc.Name != "" || len(dc.Options) > 0 {
				dm.VolumeOptions.DriverConfig = &mount.Driver{Name: dc.Name, Options: dc.Options}
			}
		}
	case mount.TypeTmpfs:
		if to := m.TmpfsOptions.V; to.Size > 0 || to.Mode > 0 {
			dm.TmpfsOptions = &mount.TmpfsOptions{SizeBytes: to.Size, Mode: os.FileMode(to.Mode)}
		}
	}
	return dm, err
}

// networkingConfig is the endpoint settings of the container in its
// network: aliases, fixed addresses, MAC address; nil when none is set.
func networkingConfig(tc *TaskConfig, mode container.NetworkMode) *network.NetworkingConfig {
	if len(tc.NetworkAliases) == 0 && tc.IPv4Address == "" && tc.IPv6Address == "" && tc.MacAddress == "" {
		return nil
	}
	name := string(mode)
	if name == "" || name == "default" {
		name = "bridge"
	}
	ep := &network.EndpointSettings{Aliases: tc.NetworkAliases}
	if tc.IPv4Address != "" || tc.IPv6Address != "" {
		ep.IPAMConfig = &network.EndpointIPAMConfig{}
		// DecodeTaskConfig checked both addresses.
		ep.IPAMConfig.IPv4Address, _ = netip.ParseAddr(tc.IPv4Address)
		ep.IPAMConfig.IPv6Address, _ = netip.ParseAddr(tc.IPv6Address)
	}
	if tc.MacAddress != "" {
		hw, _ := net.ParseMAC(tc.MacAddress)
		ep.MacAddress = network.HardwareAddr(hw)
	}
	return &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{name: ep}}
}

// registryAuth encodes the auth block as the Engine's X-Registry-Auth.
func registryAuth(a Auth) (string, error) {
	if a == (Auth{}) {
		return "", nil
	}
	b, err := json.Marshal(registry.AuthConfig{Username: a.Username, Password: a.Password, ServerAddress: a.ServerAddress})
	if err != nil {
		return "", err
	}
	return base64.URLEncoding.EncodeToString(b), nil
}

// loadImage loads the archive config.load names, in the task's local dir.
func loadImage(ctx context.Context, cli *client.Client, cfg *drivers.TaskConfig, tc *TaskConfig) error {
	path := filepath.Join(cfg.TaskDir, "local", filepath.Clean(tc.Load))
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config.load: %w", err)
	}
	defer f.Close()
	res, err := cli.ImageLoad(ctx, f, client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("config.load %s: %w", tc.Load, err)
	}
	defer res.Close()
	dec := json.NewDecoder(res)
	for {
		var msg struct {
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("config.load %s: %w", tc.Load, err)
		}
		if msg.ErrorDetail != nil {
			return fmt.Errorf("config.load %s: %s", tc.Load, msg.ErrorDetail.Message)
		}
	}
}

// portMapEnv returns env with NOMAD_PORT_<label> naming the port_map's
// container port, as Nomad sets it for port_map.
func portMapEnv(env map[string]string, pm NumberMap) map[string]string {
	if len(pm) == 0 {
		return env
	}
	out := make(map[string]string, len(env)+len(pm))
	for k, v := range env {
		out[k] = v
	}
	for l, p := range pm {
		out["NOMAD_PORT_"+l] = strconv.Itoa(p)
	}
	return out
}
