// Package template renders a task's template blocks into its directory
// before the task starts. Templates use Go text/template with the
// consul-template function names jobs commonly call. nomadService reads
// the built-in service catalog through Options.Services; functions that
// read Consul or Vault see an empty catalog, since nomadish runs neither:
// `range service "x"` renders nothing, `key` renders "".
package template

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// ErrEscapes is returned for a source or destination outside the
// allocation directory.
var ErrEscapes = errors.New("path escapes the allocation directory")

// Paths locate a task on the host.
type Paths struct {
	// AllocDir is the allocation directory; no file is read or written
	// outside it.
	AllocDir string
	// TaskDir is the task directory; relative paths start there.
	TaskDir string
}

// Render renders every template. interpolate resolves ${...} in paths;
// env is the task environment the `env` function reads. It returns the
// variables of templates with env = true, to add to the task environment.
func Render(tmpls []*structs.Template, p Paths, env map[string]string, interpolate func(string) string) (map[string]string, error) {
	res, err := RenderWithOptions(tmpls, p, env, interpolate, Options{})
	if err != nil {
		return nil, err
	}
	return res.Env, nil
}

func renderOne(t *structs.Template, p Paths, env map[string]string, interpolate func(string) string, fm template.FuncMap) ([]byte, bool, error) {
	src := t.EmbeddedTmpl
	if src == "" && t.SourcePath != "" {
		path, err := resolve(p, interpolate(t.SourcePath))
		if err != nil {
			return nil, false, err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, false, fmt.Errorf("read source: %w", err)
		}
		src = string(b)
	}
	left, right := t.LeftDelim, t.RightDelim
	if left == "" {
		left = "{{"
	}
	if right == "" {
		right = "}}"
	}
	tmpl, err := template.New(t.DestPath).Delims(left, right).Funcs(fm).Parse(src)
	if err != nil {
		return nil, false, fmt.Errorf("parse: %w", err)
	}
	if t.ErrMissingKey {
		tmpl = tmpl.Option("missingkey=error")
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, nil); err != nil {
		return nil, false, fmt.Errorf("execute: %w", err)
	}
	dest, err := resolve(p, interpolate(t.DestPath))
	if err != nil {
		return nil, false, err
	}
	old, readErr := os.ReadFile(dest)
	changed := readErr != nil || !bytes.Equal(old, buf.Bytes())
	perms := os.FileMode(0o644)
	if t.Perms != "" {
		v, err := strconv.ParseUint(t.Perms, 8, 32)
		if err != nil {
			return nil, false, fmt.Errorf("perms %q: %w", t.Perms, err)
		}
		perms = os.FileMode(v)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return nil, false, fmt.Errorf("create destination dir: %w", err)
	}
	if err := os.WriteFile(dest, buf.Bytes(), perms); err != nil {
		return nil, false, fmt.Errorf("write destination: %w", err)
	}
	if err := os.Chmod(dest, perms); err != nil {
		return nil, false, fmt.Errorf("chmod destination: %w", err)
	}
	return buf.Bytes(), changed, nil
}

// resolve makes path absolute: an absolute path already inside the alloc
// dir is kept, any other path is taken relative to the task dir. The
// result must stay inside the alloc dir.
func resolve(p Paths, path string) (string, error) {
	allocDir := filepath.Clean(p.AllocDir)
	var out string
	if filepath.IsAbs(path) && within(allocDir, filepath.Clean(path)) {
		out = filepath.Clean(path)
	} else {
		out = filepath.Join(p.TaskDir, path)
	}
	if !within(allocDir, out) {
		return "", fmt.Errorf("%w: %s", ErrEscapes, path)
	}
	return out, nil
}

func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// parseEnvFile reads KEY=VALUE lines, skipping blanks and comments, and
// strips one level of matching quotes.
func parseEnvFile(b []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out[k] = v
	}
	return out
}

// funcs are the template functions: env lookups, consul-template's
// catalog functions over an empty catalog, and a few string helpers.
func funcs(env map[string]string, services func(...interface{}) ([]*structs.ServiceRegistration, error)) template.FuncMap {
	none := func(...interface{}) []map[string]interface{} { return nil }
	return template.FuncMap{
		"env": func(k string) string { return env[k] },
		"envOrDefault": func(k, def string) string {
			if v, ok := env[k]; ok && v != "" {
				return v
			}
			return def
		},
		"key":           func(string) string { return "" },
		"keyOrDefault":  func(_, def string) string { return def },
		"keyExists":     func(string) bool { return false },
		"ls":            none,
		"tree":          none,
		"service":       none,
		"services":      none,
		"nomadService":  services,
		"nomadServices": none,
		"connect":       none,
		"nodes":         none,
		"secret":        func(...interface{}) interface{} { return nil },
		"secrets":       none,
		"nomadVar":      func(...interface{}) interface{} { return nil },
		"nomadVarList":  none,
		"toUpper":       strings.ToUpper,
		"toLower":       strings.ToLower,
		"toTitle":       strings.ToTitle,
		"trimSpace":     strings.TrimSpace,
		"split":         func(sep, s string) []string { return strings.Split(s, sep) },
		"join":          func(sep string, l []string) string { return strings.Join(l, sep) },
		"replaceAll":    func(from, to, s string) string { return strings.ReplaceAll(s, from, to) },
		"contains":      func(sub, s string) bool { return strings.Contains(s, sub) },
		"parseInt": func(s string) (int64, error) {
			return strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		},
		"parseBool": func(s string) (bool, error) { return strconv.ParseBool(strings.TrimSpace(s)) },
		"sockaddr":  func(...interface{}) string { return "" },
	}
}
