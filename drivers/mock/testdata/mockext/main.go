// Command mockext is a third-party style driver plugin for tests of the
// agent's plugin_dir: mock_driver served under the name "mock_ext", which
// refuses to run until its agent config says enabled = true.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/mock"
	"github.com/nomadish/nomadish/drivers/plugin"
)

// Name is the driver's name in job files.
const Name = "mock_ext"

type driver struct {
	*mock.Driver
}

func (driver) Name() string { return Name }

func (driver) ConfigSchema() *drivers.Schema {
	return &drivers.Schema{Fields: []*drivers.SchemaField{{Name: "enabled", Type: drivers.TypeBool}}}
}

func (d driver) SetConfig(ctx context.Context, raw []byte) error {
	var c struct {
		Enabled bool `json:"enabled"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("mock_ext config: %w", err)
	}
	if !c.Enabled {
		return errors.New("mock_ext is disabled: set enabled = true in its plugin block")
	}
	return d.Driver.SetConfig(ctx, raw)
}

func main() {
	logger := plugin.NewPluginLogger(Name)
	plugin.Serve(driver{mock.New(logger)}, logger)
}
