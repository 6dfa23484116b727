package template

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// ServiceLookup returns the instances of a built-in service. It is called
// while templates execute, from the rendering goroutine, and may block on
// the network.
type ServiceLookup func(name string) ([]*structs.ServiceRegistration, error)

// Options are the optional inputs of a render.
type Options struct {
	// Services answers nomadService; nil renders an empty catalog.
	Services ServiceLookup
}

// Result is what a render produced.
type Result struct {
	// Env are the variables of templates with env = true.
	Env map[string]string
	// Changed are the templates whose destination content changed.
	Changed []*structs.Template
	// Services are the service names the templates read, sorted.
	Services []string
}

// RenderWithOptions renders every template like Render, reading services
// through opts, and reports which destinations changed and which services
// were read, so a caller can watch them and render again.
func RenderWithOptions(tmpls []*structs.Template, p Paths, env map[string]string, interpolate func(string) string, opts Options) (*Result, error) {
	res := &Result{Env: map[string]string{}}
	var mu sync.Mutex
	seen := map[string]bool{}
	lookup := func(args ...interface{}) ([]*structs.ServiceRegistration, error) {
		name, n, key, err := serviceArgs(args)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		seen[name] = true
		mu.Unlock()
		if opts.Services == nil {
			return nil, nil
		}
		regs, err := opts.Services(name)
		if err != nil {
			return nil, fmt.Errorf("nomadService %q: %w", name, err)
		}
		healthy := HealthyInstances(regs)
		if n > 0 {
			healthy = choose(healthy, n, key)
		}
		return healthy, nil
	}
	fm := funcs(env, lookup)
	for i, t := range tmpls {
		if t == nil {
			continue
		}
		out, changed, err := renderOne(t, p, env, interpolate, fm)
		if err != nil {
			return nil, fmt.Errorf("template %d (%s): %w", i, t.DestPath, err)
		}
		if changed {
			res.Changed = append(res.Changed, t)
		}
		if t.Envvars {
			for k, v := range parseEnvFile(out) {
				res.Env[k] = v
			}
		}
	}
	for name := range seen {
		res.Services = append(res.Services, name)
	}
	sort.Strings(res.Services)
	return res, nil
}

// HealthyInstances keeps the instances whose checks are not critical,
// sorted by address and port so a render is stable.
func HealthyInstances(regs []*structs.ServiceRegistration) []*structs.ServiceRegistration {
	out := make([]*structs.ServiceRegistration, 0, len(regs))
	for _, r := range regs {
		if r != nil && r.Healthy() {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Address != out[j].Address {
			return out[i].Address < out[j].Address
		}
		if out[i].Port != out[j].Port {
			return out[i].Port < out[j].Port
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// serviceArgs reads nomadService's arguments: "name", or count, key and
// name to choose count instances by rendezvous hashing on key.
func serviceArgs(args []interface{}) (name string, n int, key string, err error) {
	switch len(args) {
	case 1:
		name = fmt.Sprint(args[0])
	case 3:
		n, err = strconv.Atoi(fmt.Sprint(args[0]))
		if err != nil || n <= 0 {
			return "", 0, "", fmt.Errorf("nomadService: count %v is not a positive number", args[0])
		}
		key, name = fmt.Sprint(args[1]), fmt.Sprint(args[2])
	default:
		return "", 0, "", fmt.Errorf("nomadService: want 1 or 3 arguments, got %d", len(args))
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return "", 0, "", fmt.Errorf("nomadService: empty service name")
	}
	return name, n, key, nil
}

func choose(regs []*structs.ServiceRegistration, n int, key string) []*structs.ServiceRegistration {
	type scored struct {
		r     *structs.ServiceRegistration
		score uint64
	}
	all := make([]scored, 0, len(regs))
	for _, r := range regs {
		h := fnv.New64a()
		_, _ = h.Write([]byte(key))
		_, _ = h.Write([]byte{0})
		_, _ = h.Write([]byte(r.ID))
		all = append(all, scored{r, h.Sum64()})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].score > all[j].score })
	if n > len(all) {
		n = len(all)
	}
	out := make([]*structs.ServiceRegistration, n)
	for i := range out {
		out[i] = all[i].r
	}
	return out
}
