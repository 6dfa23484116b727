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

	"github.com/nomadish/nomadish/drivers"
)

// Name is the driver's name in job files.
const Name = "docker"

// Config is the agent's plugin config.
type Config struct {
	// Endpoint is the Docker Engine address; DOCKER_HOST or the default
	// unix socket when empty.
	Endpoint string `json:"endpoint"`
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
	Privileged  bool      `json:"privileged"`
	// ForcePull pulls the image even when it is present locally.
	ForcePull bool `json:"force_pull"`
	// Ports are the labels of the group's ports to publish; all of the
	// task's ports when empty.
	Ports []string `json:"ports"`
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
		{Name: "ports", Type: drivers.TypeListStr},
	}}
}

// DecodeTaskConfig parses and checks the task's config block.
func DecodeTaskConfig(raw []byte) (*TaskConfig, error) {
	var tc TaskConfig
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tc); err != nil {
		return nil, fmt.Errorf("task config: %w", err)
	}
	if tc.Image == "" {
		return nil, errors.New("task config: config.image is required")
	}
	return &tc, nil
}
