// Package taskenv builds a task's environment with Nomad's variable names and
// interpolates ${...} references in task config and env.
//
// Interpolation resolves, in this order: ${node.unique.id},
// ${node.unique.name}, ${node.datacenter}, ${node.region}, ${node.class},
// ${node.pool}; ${attr.<key>} (node attributes); ${meta.<key>} (node meta);
// ${env.<NAME>} or ${NAME} (the task environment, including NOMAD_*). An
// unknown reference is left as written, as Nomad does.
package taskenv

import (
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// DefaultHostEnvDenylist names agent environment variables never passed to
// tasks that inherit the host environment.
var DefaultHostEnvDenylist = []string{
	"CONSUL_TOKEN", "CONSUL_HTTP_TOKEN", "VAULT_TOKEN", "NOMAD_TOKEN",
	"NOMAD_LICENSE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
	"AWS_SESSION_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS",
}

// Dirs are the task's directories as the task sees them.
type Dirs struct {
	AllocDir   string
	TaskDir    string
	SecretsDir string
}

// Input is everything an environment is built from.
type Input struct {
	Node   *structs.Node
	Region string
	Alloc  *structs.Allocation
	Task   *structs.Task
	Dirs   Dirs
	// HostEnv passes the agent's own environment (minus the denylist) to the
	// task, as Nomad does for drivers without filesystem isolation.
	HostEnv bool
	// AllocNetwork is the allocation's own network in bridge mode, which
	// sets NOMAD_ALLOC_IP_, NOMAD_ALLOC_ADDR_ and NOMAD_ALLOC_INTERFACE_
	// per port; nil in host mode.
	AllocNetwork *structs.AllocNetworkStatus
}

// Env is a built task environment.
type Env struct {
	env  map[string]string
	node map[string]string
}

// Build builds the task environment. Task env values are interpolated
// against node values and the NOMAD_* variables.
func Build(in Input) *Env {
	e := &Env{env: map[string]string{}, node: map[string]string{}}
	if in.HostEnv {
		deny := map[string]bool{}
		for _, k := range DefaultHostEnvDenylist {
			deny[k] = true
		}
		for _, kv := range os.Environ() {
			k, v, ok := strings.Cut(kv, "=")
			if ok && !deny[k] && !strings.HasPrefix(k, "NOMAD_") {
				e.env[k] = v
			}
		}
	}
	e.setNode(in.Node, in.Region)

	a, t := in.Alloc, in.Task
	set := func(k, v string) { e.env[k] = v }
	set("NOMAD_ALLOC_DIR", in.Dirs.AllocDir)
	set("NOMAD_TASK_DIR", in.Dirs.TaskDir)
	set("NOMAD_SECRETS_DIR", in.Dirs.SecretsDir)
	set("NOMAD_ALLOC_ID", a.ID)
	set("NOMAD_SHORT_ALLOC_ID", structs.ShortID(a.ID))
	set("NOMAD_ALLOC_NAME", a.Name)
	set("NOMAD_ALLOC_INDEX", strconv.Itoa(max(a.Index(), 0)))
	set("NOMAD_GROUP_NAME", a.TaskGroup)
	set("NOMAD_TASK_NAME", t.Name)
	set("NOMAD_NAMESPACE", nonEmpty(a.Namespace, structs.DefaultNamespace))
	set("NOMAD_REGION", in.Region)
	if in.Node != nil {
		set("NOMAD_DC", in.Node.Datacenter)
	}
	var meta map[string]string
	var tg *structs.TaskGroup
	if j := a.Job; j != nil {
		set("NOMAD_JOB_ID", j.ID)
		set("NOMAD_JOB_NAME", nonEmpty(j.Name, j.ID))
		if j.ParentID != "" {
			set("NOMAD_JOB_PARENT_ID", j.ParentID)
		}
		if j.Region != "" {
			set("NOMAD_REGION", j.Region)
		}
		meta = merge(meta, j.Meta)
		tg = j.LookupTaskGroup(a.TaskGroup)
		if tg != nil {
			meta = merge(meta, tg.Meta)
		}
	} else {
		set("NOMAD_JOB_ID", a.JobID)
		set("NOMAD_JOB_NAME", a.JobID)
	}
	meta = merge(meta, t.Meta)
	for k, v := range meta {
		set("NOMAD_META_"+k, v)
		set("NOMAD_META_"+cleanKey(k), v)
	}

	if ar := a.AllocatedResources; ar != nil {
		if tr := ar.Tasks[t.Name]; tr != nil {
			set("NOMAD_CPU_LIMIT", strconv.FormatInt(tr.Cpu.CpuShares, 10))
			set("NOMAD_MEMORY_LIMIT", strconv.FormatInt(tr.Memory.MemoryMB, 10))
			if tr.Memory.MemoryMaxMB > tr.Memory.MemoryMB {
				set("NOMAD_MEMORY_MAX_LIMIT", strconv.FormatInt(tr.Memory.MemoryMaxMB, 10))
			}
		}
	} else if t.Resources != nil {
		set("NOMAD_CPU_LIMIT", strconv.Itoa(t.Resources.CPU))
		set("NOMAD_MEMORY_LIMIT", strconv.Itoa(t.Resources.MemoryMB))
	}
	for _, p := range Ports(a, t.Name) {
		e.setPort(p, in.AllocNetwork)
	}
	if tg != nil {
		e.setUpstreams(tg)
	}

	// Task env last: it may override and reference everything above.
	for k, v := range t.Env {
		e.env[k] = e.ReplaceEnv(v)
	}
	return e
}

// Ports returns the allocation's ports visible to a task: the group's
// allocated ports, else the ports of the group and task networks.
func Ports(a *structs.Allocation, task string) []structs.AllocatedPortMapping {
	ar := a.AllocatedResources
	if ar == nil {
		return nil
	}
	if len(ar.Shared.Ports) > 0 {
		return ar.Shared.Ports
	}
	nets := append([]*structs.NetworkResource{}, ar.Shared.Networks...)
	if tr := ar.Tasks[task]; tr != nil {
		nets = append(nets, tr.Networks...)
	}
	var out []structs.AllocatedPortMapping
	for _, n := range nets {
		if n == nil {
			continue
		}
		for _, ps := range [][]structs.Port{n.ReservedPorts, n.DynamicPorts} {
			for _, p := range ps {
				out = append(out, structs.AllocatedPortMapping{Label: p.Label, Value: p.Value, To: p.To, HostIP: n.IP})
			}
		}
	}
	return out
}

func (e *Env) setPort(p structs.AllocatedPortMapping, allocNet *structs.AllocNetworkStatus) {
	label := sanitize(p.Label)
	ip := p.HostIP
	if ip == "" {
		ip = "127.0.0.1"
	}
	port := p.Value
	if p.To > 0 {
		port = p.To
	}
	host := strconv.Itoa(p.Value)
	e.env["NOMAD_IP_"+label] = ip
	e.env["NOMAD_PORT_"+label] = strconv.Itoa(port)
	e.env["NOMAD_ADDR_"+label] = net.JoinHostPort(ip, host)
	e.env["NOMAD_HOST_PORT_"+label] = host
	e.env["NOMAD_HOST_IP_"+label] = ip
	e.env["NOMAD_HOST_ADDR_"+label] = net.JoinHostPort(ip, host)
	// The port inside the allocation: `to`, else the host port.
	e.env["NOMAD_ALLOC_PORT_"+label] = strconv.Itoa(port)
	if allocNet != nil && allocNet.Address != "" {
		e.env["NOMAD_ALLOC_IP_"+label] = allocNet.Address
		e.env["NOMAD_ALLOC_ADDR_"+label] = net.JoinHostPort(allocNet.Address, strconv.Itoa(port))
		e.env["NOMAD_ALLOC_INTERFACE_"+label] = allocNet.InterfaceName
	}
}

// setUpstreams sets NOMAD_UPSTREAM_{IP,PORT,ADDR}_<destination> for the
// upstreams of the group's connect services, under the destination name as
// written and with characters a variable name cannot hold replaced by '_'.
func (e *Env) setUpstreams(tg *structs.TaskGroup) {
	for _, s := range tg.Services {
		if s == nil {
			continue
		}
		for _, u := range s.Connect.Upstreams() {
			ip := nonEmpty(u.LocalBindAddress, "127.0.0.1")
			port := strconv.Itoa(u.LocalBindPort)
			for _, name := range []string{u.DestinationName, sanitize(u.DestinationName)} {
				e.env["NOMAD_UPSTREAM_IP_"+name] = ip
				e.env["NOMAD_UPSTREAM_PORT_"+name] = port
				e.env["NOMAD_UPSTREAM_ADDR_"+name] = net.JoinHostPort(ip, port)
			}
		}
	}
}

func (e *Env) setNode(n *structs.Node, region string) {
	if n == nil {
		return
	}
	e.node["node.unique.id"] = n.ID
	e.node["node.unique.name"] = n.Name
	e.node["node.datacenter"] = n.Datacenter
	e.node["node.region"] = region
	e.node["node.class"] = n.NodeClass
	e.node["node.pool"] = n.NodePool
	for k, v := range n.Attributes {
		e.node["attr."+k] = v
	}
	for k, v := range n.Meta {
		e.node["meta."+k] = v
	}
}

// Map returns a copy of the environment.
func (e *Env) Map() map[string]string {
	out := make(map[string]string, len(e.env))
	for k, v := range e.env {
		out[k] = v
	}
	return out
}

// Set adds or replaces one variable (for example from a template with
// env = true).
func (e *Env) Set(k, v string) { e.env[k] = v }

// Get returns one variable.
func (e *Env) Get(k string) (string, bool) {
	v, ok := e.env[k]
	return v, ok
}

func (e *Env) lookup(ref string) (string, bool) {
	if v, ok := e.node[ref]; ok {
		return v, true
	}
	if name, ok := strings.CutPrefix(ref, "env."); ok {
		v, ok := e.env[name]
		return v, ok
	}
	v, ok := e.env[ref]
	return v, ok
}

// ReplaceEnv interpolates every ${...} reference in s.
func (e *Env) ReplaceEnv(s string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		ref := strings.TrimSpace(s[i+2 : i+j])
		b.WriteString(s[:i])
		if v, ok := e.lookup(ref); ok {
			b.WriteString(v)
		} else {
			b.WriteString(s[i : i+j+1])
		}
		s = s[i+j+1:]
	}
}

// ReplaceConfig returns a deep copy of a task config map with every string,
// at any depth, interpolated. Map keys are left alone.
func (e *Env) ReplaceConfig(cfg map[string]interface{}) map[string]interface{} {
	if cfg == nil {
		return nil
	}
	out, _ := e.replaceAny(cfg).(map[string]interface{})
	return out
}

func (e *Env) replaceAny(v interface{}) interface{} {
	switch x := v.(type) {
	case string:
		return e.ReplaceEnv(x)
	case map[string]interface{}:
		m := make(map[string]interface{}, len(x))
		for k, vv := range x {
			m[k] = e.replaceAny(vv)
		}
		return m
	case []interface{}:
		l := make([]interface{}, len(x))
		for i, vv := range x {
			l[i] = e.replaceAny(vv)
		}
		return l
	case []map[string]interface{}:
		l := make([]interface{}, len(x))
		for i, vv := range x {
			l[i] = e.replaceAny(vv)
		}
		return l
	case []string:
		l := make([]string, len(x))
		for i, vv := range x {
			l[i] = e.ReplaceEnv(vv)
		}
		return l
	case map[string]string:
		m := make(map[string]string, len(x))
		for k, vv := range x {
			m[k] = e.ReplaceEnv(vv)
		}
		return m
	default:
		return v
	}
}

func merge(dst, src map[string]string) map[string]string {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = map[string]string{}
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// sanitize replaces characters other than letters, digits and '_' by '_'.
func sanitize(k string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			return r
		}
		return '_'
	}, k)
}

// cleanKey makes a key usable in a variable name: upper case, with
// characters other than letters, digits and '_' replaced by '_'.
func cleanKey(k string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			return r
		}
		return '_'
	}, k)
}
