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

// TaskConfig is the task's config block.
type TaskConfig struct {
	Image       string    `json:"image"`
	Command     string    `json:"command"`
	Args        []string  `json:"args"`
	Entrypoint  []string  `json:"entrypoint"`
	WorkDir     string    `json:"work_dir"`
	Labels      StringMap `json:"labels"`
	NetworkMode string    `json:"network_mode"`
	CapAdd      []string  `json:"cap_add"`
	CapDrop     []string  `json:"cap_drop"`
	// Privileged needs allow_privileged in the plugin config.
	Privileged bool `json:"privileged"`
	// ForcePull pulls the image even when it is present locally.
	ForcePull bool `json:"force_pull"`
	// ImagePullTimeout bounds a pull ("5m" when empty).
	ImagePullTimeout string `json:"image_pull_timeout"`
	// Ports are the labels of the group's ports to publish; all of the
	// task's ports when empty.
	Ports []string `json:"ports"`
	// Volumes are "source:target[:ro]" binds; a relative source is
	// inside the task dir.
	Volumes []string `json:"volumes"`
	// Mounts are mount blocks.
	Mounts BlockList[Mount] `json:"mount"`
	// MemoryHardLimit, in MB, is the container's memory limit; the task's
	// resources.memory then becomes the soft reservation.
	MemoryHardLimit int64 `json:"memory_hard_limit"`
}

// Mount is one mount block.
type Mount struct {
	// Type is "bind" (the default), "volume" or "tmpfs".
	Type     string `json:"type"`
	Source   string `json:"source"`
	Target   string `json:"target"`
	Readonly bool   `json:"readonly"`
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

// StringMap is a map of strings that also decodes from the one-element
// list of maps a job file's `labels = { ... }` becomes.
type StringMap map[string]string

// UnmarshalJSON accepts {"k":"v"} and [{"k":"v"}].
func (m *StringMap) UnmarshalJSON(b []byte) error {
	var plain map[string]string
	if err := json.Unmarshal(b, &plain); err == nil {
		*m = plain
		return nil
	}
	var list []map[string]string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("want a map of strings: %w", err)
	}
	out := map[string]string{}
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
	}}
}

// TaskConfigSchema is the task config schema.
func TaskConfigSchema() *drivers.Schema {
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
		{Name: "ports", Type: drivers.TypeListStr},
		{Name: "volumes", Type: drivers.TypeListStr},
		{Name: "mount", Type: drivers.TypeBlockList, Fields: []*drivers.SchemaField{
			{Name: "type", Type: drivers.TypeString},
			{Name: "source", Type: drivers.TypeString},
			{Name: "target", Type: drivers.TypeString, Required: true},
			{Name: "readonly", Type: drivers.TypeBool},
		}},
		{Name: "memory_hard_limit", Type: drivers.TypeNumber},
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
// every problem at once.
func DecodeTaskConfig(raw []byte) (*TaskConfig, error) {
	var tc TaskConfig
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tc); err != nil {
		return nil, fmt.Errorf("task config: %w", err)
	}
	var errs []error
	if tc.Image == "" {
		errs = append(errs, errors.New("config.image is required"))
	}
	if _, err := tc.imagePullTimeout(); err != nil {
		errs = append(errs, err)
	}
	if tc.MemoryHardLimit < 0 {
		errs = append(errs, fmt.Errorf("config.memory_hard_limit = %d, want >= 0", tc.MemoryHardLimit))
	}
	for i, v := range tc.Volumes {
		if _, err := parseVolume(v); err != nil {
			errs = append(errs, fmt.Errorf("config.volumes[%d]: %w", i, err))
		}
	}
	for i, m := range tc.Mounts {
		switch m.Type {
		case "", "bind", "volume":
			if m.Source == "" {
				errs = append(errs, fmt.Errorf("config.mount[%d].source is required for type %q", i, m.typ()))
			}
		case "tmpfs":
			if m.Source != "" {
				errs = append(errs, fmt.Errorf("config.mount[%d].source must be empty for tmpfs", i))
			}
		default:
			errs = append(errs, fmt.Errorf("config.mount[%d].type = %q, want bind, volume or tmpfs", i, m.Type))
		}
		if !strings.HasPrefix(m.Target, "/") {
			errs = append(errs, fmt.Errorf("config.mount[%d].target = %q, want an absolute path", i, m.Target))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("task config: %w", err)
	}
	return &tc, nil
}

func (m Mount) typ() string {
	if m.Type == "" {
		return "bind"
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

// volume is a parsed "source:target[:ro]".
type volume struct {
	Source, Target string
	ReadOnly       bool
}

func parseVolume(s string) (volume, error) {
	parts := strings.Split(s, ":")
	var v volume
	switch {
	case len(parts) == 2:
	case len(parts) == 3 && (parts[2] == "ro" || parts[2] == "rw"):
		v.ReadOnly = parts[2] == "ro"
	default:
		return v, fmt.Errorf("%q: want \"source:target\" or \"source:target:ro\"", s)
	}
	v.Source, v.Target = parts[0], parts[1]
	if v.Source == "" || !strings.HasPrefix(v.Target, "/") {
		return v, fmt.Errorf("%q: want a source and an absolute target", s)
	}
	return v, nil
}
