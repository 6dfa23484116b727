// Package docker is the docker driver: each task is a container on the
// Docker Engine, driven through the Engine API. Containers outlive the
// plugin; a small log process per task, in its own session, copies the
// container's output into the task's log files so logging does not
// depend on the plugin either.
package docker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nomadish/nomadish/drivers"
)

// Name is the driver's name in job files.
const Name = "docker"

// Defaults, as Nomad's docker driver has them.
const (
	DefaultImagePullTimeout    = 5 * time.Minute
	DefaultPullActivityTimeout = 2 * time.Minute
)

// Config is the agent's plugin config.
type Config struct {
	// Endpoint is the Docker Engine address; DOCKER_HOST or the default
	// unix socket when empty.
	Endpoint string `json:"endpoint"`
	// AllowPrivileged lets tasks set privileged = true.
	AllowPrivileged bool `json:"allow_privileged"`
	// Volumes controls host paths in volumes and mount blocks.
	Volumes Block[VolumesConfig] `json:"volumes"`
	// PullActivityTimeout cancels a pull that reports no progress for
	// this long ("2m" when empty).
	PullActivityTimeout string `json:"pull_activity_timeout"`
	// AllowCaps are the capabilities tasks may add; Docker's defaults that
	// are not listed are dropped. DefaultAllowCaps when nil.
	AllowCaps []string `json:"allow_caps"`
	// AllowRuntimes are the runtimes tasks may name; DefaultAllowRuntimes
	// when nil.
	AllowRuntimes []string `json:"allow_runtimes"`
	// PidsLimit, when above zero, is every task's pids limit and the most
	// a task may ask for.
	PidsLimit int64 `json:"pids_limit"`
}

// VolumesConfig is the plugin config's volumes block.
type VolumesConfig struct {
	// Enabled allows absolute host paths and named volumes; paths
	// relative to the task dir are always allowed.
	Enabled bool `json:"enabled"`
}

// pullActivityTimeout returns the parsed timeout or the default.
func (c Config) pullActivityTimeout() (time.Duration, error) {
	return parseDuration("pull_activity_timeout", c.PullActivityTimeout, DefaultPullActivityTimeout)
}

// TaskConfig is the task's config block. Names follow Nomad's docker
// driver; TaskConfigSchema marks the options accepted but not acted on.
type TaskConfig struct {
	Image       string    `json:"image"`
	Command     string    `json:"command"`
	Args        []string  `json:"args"`
	Entrypoint  []string  `json:"entrypoint"`
	WorkDir     string    `json:"work_dir"`
	Labels      StringMap `json:"labels"`
	NetworkMode string    `json:"network_mode"`
	// CapAdd must stay within the plugin's allow_caps.
	CapAdd  []string `json:"cap_add"`
	CapDrop []string `json:"cap_drop"`
	// Privileged needs allow_privileged in the plugin config.
	Privileged bool `json:"privileged"`
	// ForcePull pulls the image even when it is present locally.
	ForcePull bool `json:"force_pull"`
	// ImagePullTimeout bounds a pull ("5m" when empty).
	ImagePullTimeout string `json:"image_pull_timeout"`
	// Auth are the registry credentials of the pull.
	Auth Block[Auth] `json:"auth"`
	// AuthSoftFail would let a pull go on without credentials when
	// looking them up fails; credentials come only from Auth here.
	AuthSoftFail bool `json:"auth_soft_fail"`
	// Load is an image archive (docker save), relative to the task's
	// local dir, loaded before the image is looked up.
	Load string `json:"load"`
	// Ports are the labels of the group's ports to publish; all of the
	// task's ports when empty.
	Ports []string `json:"ports"`
	// PortMap (deprecated in Nomad) maps a port label to the container
	// port; NOMAD_PORT_<label> then names the container port.
	PortMap NumberMap `json:"port_map"`
	// Volumes are "source:target[:options]" binds; a relative source is
	// inside the task dir.
	Volumes []string `json:"volumes"`
	// VolumeDriver makes each volumes source a volume of that driver.
	VolumeDriver string `json:"volume_driver"`
	// Mounts are mount blocks; MountsList is the older `mounts = [...]`.
	Mounts     BlockList[Mount] `json:"mount"`
	MountsList BlockList[Mount] `json:"mounts"`
	// MemoryHardLimit, in MB, is the container's memory limit; the task's
	// resources.memory then becomes the soft reservation.
	MemoryHardLimit int64 `json:"memory_hard_limit"`
	// CPUHardLimit caps the task at resources.cpu with a CFS quota over
	// CPUCFSPeriod microseconds (100000 when zero).
	CPUHardLimit bool  `json:"cpu_hard_limit"`
	CPUCFSPeriod int64 `json:"cpu_cfs_period"`
	PidsLimit    int64 `json:"pids_limit"`
	OOMScoreAdj  int   `json:"oom_score_adj"`
	// ShmSize is /dev/shm's size in bytes.
	ShmSize    int64     `json:"shm_size"`
	StorageOpt StringMap `json:"storage_opt"`
	Sysctl     StringMap `json:"sysctl"`
	// Ulimit maps a limit name to "soft[:hard]".
	Ulimit         StringMap         `json:"ulimit"`
	Devices        BlockList[Device] `json:"devices"`
	GroupAdd       []string          `json:"group_add"`
	SecurityOpt    []string          `json:"security_opt"`
	ReadonlyRootfs bool              `json:"readonly_rootfs"`
	Runtime        string            `json:"runtime"`
	Init           bool              `json:"init"`
	TTY            bool              `json:"tty"`
	Interactive    bool              `json:"interactive"`
	Hostname       string            `json:"hostname"`
	// DNS settings of the container's resolv.conf.
	DNSServers       []string `json:"dns_servers"`
	DNSSearchDomains []string `json:"dns_search_domains"`
	DNSOptions       []string `json:"dns_options"`
	// ExtraHosts are "name:address" lines added to /etc/hosts.
	ExtraHosts []string `json:"extra_hosts"`
	IPCMode    string   `json:"ipc_mode"`
	PidMode    string   `json:"pid_mode"`
	UTSMode    string   `json:"uts_mode"`
	UsernsMode string   `json:"userns_mode"`
	// NetworkAliases, IPv4Address, IPv6Address and MacAddress configure
	// the container's endpoint in its network_mode network.
	NetworkAliases []string `json:"network_aliases"`
	IPv4Address    string   `json:"ipv4_address"`
	IPv6Address    string   `json:"ipv6_address"`
	MacAddress     string   `json:"mac_address"`
	// Logging is the container's Docker log driver; output still reaches
	// the task's log files.
	Logging      Block[Logging]      `json:"logging"`
	Healthchecks Block[Healthchecks] `json:"healthchecks"`
	// Accepted, not acted on (see TaskConfigSchema).
	AdvertiseIPv6Address bool   `json:"advertise_ipv6_address"`
	CPUSetCPUs           string `json:"cpuset_cpus"`
	Isolation            string `json:"isolation"`
}

// Auth is the task config's auth block.
type Auth struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Email         string `json:"email"`
	ServerAddress string `json:"server_address"`
}

// Mount is one mount block.
type Mount struct {
	// Type is "volume" (the default, as in Nomad), "bind" or "tmpfs".
	Type          string               `json:"type"`
	Source        string               `json:"source"`
	Target        string               `json:"target"`
	Readonly      bool                 `json:"readonly"`
	BindOptions   Block[BindOptions]   `json:"bind_options"`
	VolumeOptions Block[VolumeOptions] `json:"volume_options"`
	TmpfsOptions  Block[TmpfsOptions]  `json:"tmpfs_options"`
}

// BindOptions is a bind mount's bind_options block.
type BindOptions struct {
	// Propagation is private, rprivate, shared, rshared, slave or rslave.
	Propagation string `json:"propagation"`
}

// VolumeOptions is a volume mount's volume_options block.
type VolumeOptions struct {
	NoCopy       bool                      `json:"no_copy"`
	Labels       StringMap                 `json:"labels"`
	DriverConfig Block[VolumeDriverConfig] `json:"driver_config"`
}

// VolumeDriverConfig names the volume driver of a new volume.
type VolumeDriverConfig struct {
	Name    string    `json:"name"`
	Options StringMap `json:"options"`
}

// TmpfsOptions is a tmpfs mount's tmpfs_options block.
type TmpfsOptions struct {
	// Size in bytes; Mode the permission bits of its root.
	Size int64  `json:"size"`
	Mode uint32 `json:"mode"`
}

// Device is one devices block.
type Device struct {
	HostPath      string `json:"host_path"`
	ContainerPath string `json:"container_path"`
	// CgroupPermissions is a combination of r, w and m; "rwm" when empty.
	CgroupPermissions string `json:"cgroup_permissions"`
}

// Logging is the logging block.
type Logging struct {
	// Type, or its older name Driver, is the Docker log driver.
	Type   string    `json:"type"`
	Driver string    `json:"driver"`
	Config StringMap `json:"config"`
}

// Healthchecks is the healthchecks block.
type Healthchecks struct {
	// Disable turns off the image's HEALTHCHECK.
	Disable bool `json:"disable"`
}

// Block decodes a nested block that a job or agent file may turn into a
// one-element list of objects.
type Block[T any] struct {
	V T
}

// UnmarshalJSON accepts {...} and [{...}].
func (b *Block[T]) UnmarshalJSON(raw []byte) error {
	var list BlockList[T]
	if err := list.UnmarshalJSON(raw); err != nil {
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

// BlockList decodes repeated blocks, also from a single object.
type BlockList[T any] []T

// UnmarshalJSON accepts [{...}, ...] and {...}, rejecting unknown fields.
func (l *BlockList[T]) UnmarshalJSON(raw []byte) error {
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, []byte("null")) {
		*l = nil
		return nil
	}
	if len(raw) > 0 && raw[0] == '{' {
		raw = append(append([]byte{'['}, raw...), ']')
	}
	var out []T
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return err
	}
	*l = out
	return nil
}

// StringMap decodes a map of strings from a job file's map or blocks.
type StringMap = drivers.StringMap

// NumberMap is port_map's type: a map of integers that also decodes from
// the list of maps a job file's `port_map { ... }` blocks become.
type NumberMap map[string]int

// UnmarshalJSON accepts {"k":1} and [{"k":1}, ...].
func (m *NumberMap) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		b = append(append([]byte{'['}, t...), ']')
	}
	var list []map[string]int
	if err := json.Unmarshal(b, &list); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return fmt.Errorf("config.port_map: want a map of integers, got %s", ute.Value)
		}
		return fmt.Errorf("config.port_map: want a map of integers: %w", err)
	}
	out := map[string]int{}
	for _, l := range list {
		for k, v := range l {
			out[k] = v
		}
	}
	*m = out
	return nil
}

// ConfigSchema is the agent plugin config schema.
func ConfigSchema() *drivers.Schema {
	return &drivers.Schema{Fields: []*drivers.SchemaField{
		{Name: "endpoint", Type: drivers.TypeString},
		{Name: "allow_privileged", Type: drivers.TypeBool},
		{Name: "volumes", Type: drivers.TypeBlock, Fields: []*drivers.SchemaField{
			{Name: "enabled", Type: drivers.TypeBool},
		}},
		{Name: "pull_activity_timeout", Type: drivers.TypeString},
		{Name: "allow_caps", Type: drivers.TypeListStr},
		{Name: "allow_runtimes", Type: drivers.TypeListStr},
		{Name: "pids_limit", Type: drivers.TypeNumber},
	}}
}

// TaskConfigSchema is the task config schema: every option of Nomad's
// docker driver, those nomadish does not act on marked Unsupported.
func TaskConfigSchema() *drivers.Schema {
	mount := []*drivers.SchemaField{
		{Name: "type", Type: drivers.TypeString},
		{Name: "source", Type: drivers.TypeString},
		{Name: "target", Type: drivers.TypeString, Required: true},
		{Name: "readonly", Type: drivers.TypeBool},
		{Name: "bind_options", Type: drivers.TypeBlock, Fields: []*drivers.SchemaField{
			{Name: "propagation", Type: drivers.TypeString},
		}},
		{Name: "volume_options", Type: drivers.TypeBlock, Fields: []*drivers.SchemaField{
			{Name: "no_copy", Type: drivers.TypeBool},
			{Name: "labels", Type: drivers.TypeMapStr},
			{Name: "driver_config", Type: drivers.TypeBlock, Fields: []*drivers.SchemaField{
				{Name: "name", Type: drivers.TypeString},
				{Name: "options", Type: drivers.TypeMapStr},
			}},
		}},
		{Name: "tmpfs_options", Type: drivers.TypeBlock, Fields: []*drivers.SchemaField{
			{Name: "size", Type: drivers.TypeNumber},
			{Name: "mode", Type: drivers.TypeNumber},
		}},
	}
	return &drivers.Schema{Fields: []*drivers.SchemaField{
		{Name: "image", Type: drivers.TypeString, Required: true},
		{Name: "command", Type: drivers.TypeString},
		{Name: "args", Type: drivers.TypeListStr},
		{Name: "entrypoint", Type: drivers.TypeListStr},
		{Name: "work_dir", Type: drivers.TypeString},
		{Name: "labels", Type: drivers.TypeMapStr},
		{Name: "network_mode", Type: drivers.TypeString},
		{Name: "cap_add", Type: drivers.TypeListStr},
		{Name: "cap_drop", Type: drivers.TypeListStr},
		{Name: "privileged", Type: drivers.TypeBool},
		{Name: "force_pull", Type: drivers.TypeBool},
		{Name: "image_pull_timeout", Type: drivers.TypeString},
		{Name: "auth", Type: drivers.TypeBlock, Fields: []*drivers.SchemaField{
			{Name: "username", Type: drivers.TypeString},
			{Name: "password", Type: drivers.TypeString},
			{Name: "email", Type: drivers.TypeString},
			{Name: "server_address", Type: drivers.TypeString},
		}},
		{Name: "auth_soft_fail", Type: drivers.TypeBool},
		{Name: "load", Type: drivers.TypeString},
		{Name: "ports", Type: drivers.TypeListStr},
		{Name: "port_map", Type: drivers.TypeMapNumber},
		{Name: "volumes", Type: drivers.TypeListStr},
		{Name: "volume_driver", Type: drivers.TypeString},
		{Name: "mount", Type: drivers.TypeBlockList, Fields: mount},
		{Name: "mounts", Type: drivers.TypeBlockList, Fields: mount},
		{Name: "memory_hard_limit", Type: drivers.TypeNumber},
		{Name: "cpu_hard_limit", Type: drivers.TypeBool},
		{Name: "cpu_cfs_period", Type: drivers.TypeNumber},
		{Name: "pids_limit", Type: drivers.TypeNumber},
		{Name: "oom_score_adj", Type: drivers.TypeNumber},
		{Name: "shm_size", Type: drivers.TypeNumber},
		{Name: "storage_opt", Type: drivers.TypeMapStr},
		{Name: "sysctl", Type: drivers.TypeMapStr},
		{Name: "ulimit", Type: drivers.TypeMapStr},
		{Name: "devices", Type: drivers.TypeBlockList, Fields: []*drivers.SchemaField{
			{Name: "host_path", Type: drivers.TypeString, Required: true},
			{Name: "container_path", Type: drivers.TypeString},
			{Name: "cgroup_permissions", Type: drivers.TypeString},
		}},
		{Name: "group_add", Type: drivers.TypeListStr},
		{Name: "security_opt", Type: drivers.TypeListStr},
		{Name: "readonly_rootfs", Type: drivers.TypeBool},
		{Name: "runtime", Type: drivers.TypeString},
		{Name: "init", Type: drivers.TypeBool},
		{Name: "tty", Type: drivers.TypeBool},
		{Name: "interactive", Type: drivers.TypeBool},
		{Name: "hostname", Type: drivers.TypeString},
		{Name: "dns_servers", Type: drivers.TypeListStr},
		{Name: "dns_search_domains", Type: drivers.TypeListStr},
		{Name: "dns_options", Type: drivers.TypeListStr},
		{Name: "extra_hosts", Type: drivers.TypeListStr},
		{Name: "ipc_mode", Type: drivers.TypeString},
		{Name: "pid_mode", Type: drivers.TypeString},
		{Name: "uts_mode", Type: drivers.TypeString},
		{Name: "userns_mode", Type: drivers.TypeString},
		{Name: "network_aliases", Type: drivers.TypeListStr},
		{Name: "ipv4_address", Type: drivers.TypeString},
		{Name: "ipv6_address", Type: drivers.TypeString},
		{Name: "mac_address", Type: drivers.TypeString},
		{Name: "logging", Type: drivers.TypeBlock, Fields: []*drivers.SchemaField{
			{Name: "type", Type: drivers.TypeString},
			{Name: "driver", Type: drivers.TypeString},
			{Name: "config", Type: drivers.TypeMapStr},
		}},
		{Name: "healthchecks", Type: drivers.TypeBlock, Fields: []*drivers.SchemaField{
			{Name: "disable", Type: drivers.TypeBool},
		}},
		{Name: "advertise_ipv6_address", Type: drivers.TypeBool,
			Unsupported: "services are registered with the host's address, never the container's"},
		{Name: "cpuset_cpus", Type: drivers.TypeString,
			Unsupported: "it is ignored, as by Nomad since 0.12; use resources { cores }"},
		{Name: "isolation", Type: drivers.TypeString,
			Unsupported: "it selects Windows container isolation; Linux containers ignore it"},
	}}
}

// DecodeConfig parses and checks the plugin config.
func DecodeConfig(raw []byte) (Config, error) {
	var c Config
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return c, fmt.Errorf("docker plugin config: %w", err)
		}
	}
	if _, err := c.pullActivityTimeout(); err != nil {
		return c, fmt.Errorf("docker plugin config: %w", err)
	}
	return c, nil
}

// DecodeTaskConfig parses and checks the task's config block, reporting
// every problem at once, each naming its field.
func DecodeTaskConfig(raw []byte) (*TaskConfig, error) {
	var tc TaskConfig
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tc); err != nil {
		return nil, fmt.Errorf("task config: %w", drivers.ConfigFieldError(err))
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if tc.Image == "" {
		bad("config.image is required")
	}
	if _, err := tc.imagePullTimeout(); err != nil {
		errs = append(errs, err)
	}
	if tc.MemoryHardLimit < 0 {
		bad("config.memory_hard_limit = %d, want >= 0", tc.MemoryHardLimit)
	}
	for i, v := range tc.Volumes {
		if _, err := parseVolume(v); err != nil {
			bad("config.volumes[%d]: %w", i, err)
		}
	}
	for i, m := range tc.Mounts {
		errs = append(errs, m.check(fmt.Sprintf("config.mount[%d]", i))...)
	}
	for i, m := range tc.MountsList {
		errs = append(errs, m.check(fmt.Sprintf("config.mounts[%d]", i))...)
	}
	if p := tc.CPUCFSPeriod; p != 0 && (p < 1000 || p > 1000000) {
		bad("config.cpu_cfs_period = %d, want 1000 to 1000000 microseconds", p)
	}
	if tc.PidsLimit < 0 {
		bad("config.pids_limit = %d, want >= 0", tc.PidsLimit)
	}
	if tc.ShmSize < 0 {
		bad("config.shm_size = %d, want >= 0 bytes", tc.ShmSize)
	}
	if tc.OOMScoreAdj < -1000 || tc.OOMScoreAdj > 1000 {
		bad("config.oom_score_adj = %d, want -1000 to 1000", tc.OOMScoreAdj)
	}
	if _, err := ulimits(tc.Ulimit); err != nil {
		errs = append(errs, err)
	}
	for i, d := range tc.Devices {
		if _, err := d.mapping(); err != nil {
			bad("config.devices[%d]: %w", i, err)
		}
	}
	for i, s := range tc.DNSServers {
		if _, err := netip.ParseAddr(s); err != nil {
			bad("config.dns_servers[%d] = %q, want an IP address", i, s)
		}
	}
	for i, h := range tc.ExtraHosts {
		if err := checkExtraHost(h); err != nil {
			bad("config.extra_hosts[%d]: %w", i, err)
		}
	}
	for i, o := range tc.SecurityOpt {
		if _, _, err := splitSecurityOpt(o); err != nil {
			bad("config.security_opt[%d]: %w", i, err)
		}
	}
	for _, f := range []struct{ name, v string }{{"ipv4_address", tc.IPv4Address}, {"ipv6_address", tc.IPv6Address}} {
		if a, err := netip.ParseAddr(f.v); f.v != "" && (err != nil || (f.name == "ipv4_address") != a.Is4()) {
			bad("config.%s = %q, want an IPv%s address", f.name, f.v, f.name[3:4])
		}
	}
	if tc.MacAddress != "" {
		if _, err := net.ParseMAC(tc.MacAddress); err != nil {
			bad("config.mac_address = %q, want a MAC address", tc.MacAddress)
		}
	}
	for _, l := range slices.Sorted(maps.Keys(tc.PortMap)) {
		if p := tc.PortMap[l]; p < 1 || p > 65535 {
			bad("config.port_map.%s = %d, want a port from 1 to 65535", l, p)
		}
	}
	if tc.Load != "" && !localPath(tc.Load) {
		bad("config.load = %q, want a path inside the task's local dir", tc.Load)
	}
	if lg := tc.Logging.V; lg.Type != "" && lg.Driver != "" && lg.Type != lg.Driver {
		bad("config.logging: type %q and driver %q differ; set one", lg.Type, lg.Driver)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("task config: %w", err)
	}
	return &tc, nil
}

// check reports every problem of a mount block at path.
func (m Mount) check(path string) []error {
	var errs []error
	switch m.typ() {
	case "bind", "volume":
		if m.Source == "" {
			errs = append(errs, fmt.Errorf("%s.source is required for type %q", path, m.typ()))
		}
	case "tmpfs":
		if m.Source != "" {
			errs = append(errs, fmt.Errorf("%s.source must be empty for tmpfs", path))
		}
	default:
		errs = append(errs, fmt.Errorf("%s.type = %q, want bind, volume or tmpfs", path, m.Type))
	}
	if !strings.HasPrefix(m.Target, "/") {
		errs = append(errs, fmt.Errorf("%s.target = %q, want an absolute path", path, m.Target))
	}
	if p := m.BindOptions.V.Propagation; p != "" && !slices.Contains(propagations, p) {
		errs = append(errs, fmt.Errorf("%s.bind_options.propagation = %q, want one of %s", path, p, strings.Join(propagations, ", ")))
	}
	if m.TmpfsOptions.V.Size < 0 {
		errs = append(errs, fmt.Errorf("%s.tmpfs_options.size = %d, want >= 0 bytes", path, m.TmpfsOptions.V.Size))
	}
	return errs
}

var propagations = []string{"private", "rprivate", "shared", "rshared", "slave", "rslave"}

// localPath reports whether p, relative to the task's local dir, stays in it.
func localPath(p string) bool {
	if filepath.IsAbs(p) {
		return false
	}
	c := filepath.Clean(p)
	return c != ".." && !strings.HasPrefix(c, "../")
}

func (m Mount) typ() string {
	if m.Type == "" {
		return "volume"
	}
	return m.Type
}

func (tc *TaskConfig) imagePullTimeout() (time.Duration, error) {
	return parseDuration("config.image_pull_timeout", tc.ImagePullTimeout, DefaultImagePullTimeout)
}

func parseDuration(field, s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s = %q, want a positive duration such as \"5m\"", field, s)
	}
	return d, nil
}

// volume is a parsed "source:target[:options]".
type volume struct {
	Source, Target string
	// Options are the bind's options, such as "ro" or "ro,z".
	Options string
}

// volumeOptions are the options a volumes entry may carry, as Docker's -v.
var volumeOptions = []string{"ro", "rw", "z", "Z", "nocopy", "private", "rprivate", "shared", "rshared", "slave", "rslave", "consistent", "cached", "delegated"}

func parseVolume(s string) (volume, error) {
	parts := strings.Split(s, ":")
	var v volume
	switch len(parts) {
	case 2:
	case 3:
		for _, o := range strings.Split(parts[2], ",") {
			if !slices.Contains(volumeOptions, o) {
				return v, fmt.Errorf("%q: option %q, want ro, rw, z, Z, nocopy or a propagation mode", s, o)
			}
		}
		v.Options = parts[2]
	default:
		return v, fmt.Errorf("%q: want \"source:target\" or \"source:target:ro\"", s)
	}
	v.Source, v.Target = parts[0], parts[1]
	if v.Source == "" || !strings.HasPrefix(v.Target, "/") {
		return v, fmt.Errorf("%q: want a source and an absolute target", s)
	}
	return v, nil
}
