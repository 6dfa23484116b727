package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadish/nomadish/drivers/catalog"
)

// pluginProbeTimeout bounds launching a plugin_dir binary to learn its name.
const pluginProbeTimeout = 30 * time.Second

// pluginDirOf is the agent's plugin_dir, or <data_dir>/plugins as in Nomad.
func pluginDirOf(c *Config) string {
	if c.PluginDir != "" {
		return c.PluginDir
	}
	if c.DataDir == "" {
		return ""
	}
	return filepath.Join(c.DataDir, "plugins")
}

// scanPluginDir launches every executable file in dir once to ask the
// driver its name, and returns name → path. A missing dir has no plugins;
// a file that is not a driver plugin is logged and skipped, so that one
// bad binary does not keep the client from starting. A plugin named like
// a built-in driver replaces it.
func scanPluginDir(ctx context.Context, dir string, logger hclog.Logger) (map[string]string, error) {
	out := map[string]string{}
	if dir == "" {
		return out, nil
	}
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read plugin_dir: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		fi, err := os.Stat(path)
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			continue
		}
		name, err := probePlugin(ctx, path, logger)
		if err != nil {
			logger.Warn("skipping plugin_dir file", "path", path, "error", err)
			continue
		}
		if prev, ok := out[name]; ok {
			logger.Warn("two plugins with one name; keeping the first", "driver", name, "kept", prev, "skipped", path)
			continue
		}
		logger.Info("driver plugin found", "driver", name, "path", path)
		out[name] = path
	}
	return out, nil
}

func probePlugin(ctx context.Context, path string, logger hclog.Logger) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, pluginProbeTimeout)
	defer cancel()
	d, pc, err := catalog.LaunchPath(ctx, path, logger)
	if err != nil {
		return "", err
	}
	defer pc.Kill()
	name := d.Name()
	if name == "" {
		return "", fmt.Errorf("plugin reports an empty name")
	}
	return name, nil
}

// driverNames are the built-in drivers plus the plugin_dir ones, sorted.
func driverNames(external map[string]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range catalog.Builtin() {
		seen[n] = true
		out = append(out, n)
	}
	for n := range external {
		if !seen[n] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
