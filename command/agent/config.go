package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// Config is the agent configuration, in Nomad's agent config syntax.
type Config struct {
	Name       string          `hcl:"name,optional"`
	Region     string          `hcl:"region,optional"`
	Datacenter string          `hcl:"datacenter,optional"`
	DataDir    string          `hcl:"data_dir,optional"`
	BindAddr   string          `hcl:"bind_addr,optional"`
	LogLevel   string          `hcl:"log_level,optional"`
	PluginDir  string          `hcl:"plugin_dir,optional"`
	Ports      *Ports          `hcl:"ports,block"`
	Addresses  *Addresses      `hcl:"addresses,block"`
	Advertise  *Addresses      `hcl:"advertise,block"`
	Server     *ServerConfig   `hcl:"server,block"`
	Client     *ClientConfig   `hcl:"client,block"`
	Plugins    []*PluginConfig `hcl:"plugin,block"`
	Remain     hcl.Body        `hcl:",remain"`
	DevMode    bool
	Join       []string
	Unused     map[string]string
}

// Ports are the agent's listening ports.
type Ports struct {
	HTTP int `hcl:"http,optional"`
	RPC  int `hcl:"rpc,optional"`
	Serf int `hcl:"serf,optional"`
}

// Addresses are per-protocol bind or advertise addresses.
type Addresses struct {
	HTTP string `hcl:"http,optional"`
	RPC  string `hcl:"rpc,optional"`
	Serf string `hcl:"serf,optional"`
}

// ServerJoin says how to find other agents.
type ServerJoin struct {
	RetryJoin     []string `hcl:"retry_join,optional"`
	StartJoin     []string `hcl:"start_join,optional"`
	RetryInterval string   `hcl:"retry_interval,optional"`
	RetryMax      int      `hcl:"retry_max,optional"`
}

// ServerConfig is the `server` block.
type ServerConfig struct {
	Enabled         *bool `hcl:"enabled,optional"`
	BootstrapExpect int   `hcl:"bootstrap_expect,optional"`
	NumSchedulers   *int  `hcl:"num_schedulers,optional"`
	// EventBufferSize is how many Raft indexes of events are kept for
	// event stream subscribers that resume from an index (default 100).
	EventBufferSize *int        `hcl:"event_buffer_size,optional"`
	Encrypt         string      `hcl:"encrypt,optional"`
	HeartbeatGrace  string      `hcl:"heartbeat_grace,optional"`
	MinHeartbeatTTL string      `hcl:"min_heartbeat_ttl,optional"`
	ServerJoin      *ServerJoin `hcl:"server_join,block"`
	// Garbage collection, as Nomad names it: durations such as "4h".
	JobGCInterval         string   `hcl:"job_gc_interval,optional"`
	JobGCThreshold        string   `hcl:"job_gc_threshold,optional"`
	EvalGCThreshold       string   `hcl:"eval_gc_threshold,optional"`
	BatchEvalGCThreshold  string   `hcl:"batch_eval_gc_threshold,optional"`
	DeploymentGCThreshold string   `hcl:"deployment_gc_threshold,optional"`
	NodeGCThreshold       string   `hcl:"node_gc_threshold,optional"`
	Remain                hcl.Body `hcl:",remain"`
}

// Reserved is the client's `reserved` block.
type Reserved struct {
	CPU           int    `hcl:"cpu,optional"`
	Memory        int    `hcl:"memory,optional"`
	Disk          int    `hcl:"disk,optional"`
	ReservedPorts string `hcl:"reserved_ports,optional"`
}

// ClientConfig is the `client` block.
type ClientConfig struct {
	Enabled         *bool             `hcl:"enabled,optional"`
	Servers         []string          `hcl:"servers,optional"`
	NodeClass       string            `hcl:"node_class,optional"`
	NodePool        string            `hcl:"node_pool,optional"`
	Meta            map[string]string `hcl:"meta,optional"`
	CPUTotalCompute int               `hcl:"cpu_total_compute,optional"`
	MemoryTotalMB   int               `hcl:"memory_total_mb,optional"`
	Reserved        *Reserved         `hcl:"reserved,block"`
	ServerJoin      *ServerJoin       `hcl:"server_join,block"`
	DNS             *ClientDNS        `hcl:"dns,block"`
	Artifact        *ClientArtifact   `hcl:"artifact,block"`
	Remain          hcl.Body          `hcl:",remain"`

	// Bridge-mode allocation networks: the host bridge, the subnet of
	// allocation addresses, and whether an allocation may reach its own
	// mapped ports.
	BridgeNetworkName        string `hcl:"bridge_network_name,optional"`
	BridgeNetworkSubnet      string `hcl:"bridge_network_subnet,optional"`
	BridgeNetworkHairpinMode *bool  `hcl:"bridge_network_hairpin_mode,optional"`
}

// PluginConfig is a `plugin "NAME" { config { ... } }` block.
type PluginConfig struct {
	Name   string   `hcl:"name,label"`
	Body   hcl.Body `hcl:",remain"`
	Config map[string]interface{}
}

// DefaultConfig is the configuration of an agent with no files or flags.
func DefaultConfig() *Config {
	f := false
	return &Config{
		Region:     "global",
		Datacenter: "dc1",
		BindAddr:   "0.0.0.0",
		LogLevel:   "INFO",
		Ports:      &Ports{HTTP: 4646, RPC: 4647, Serf: 4648},
		Addresses:  &Addresses{},
		Advertise:  &Addresses{},
		Server:     &ServerConfig{Enabled: &f},
		Client:     &ClientConfig{Enabled: &f},
	}
}

// DevConfig is `-dev`: server and client in one process on loopback,
// raw_exec enabled.
func DevConfig() *Config {
	c := DefaultConfig()
	t := true
	c.DevMode = true
	c.BindAddr = "127.0.0.1"
	c.LogLevel = "DEBUG"
	c.Server.Enabled = &t
	c.Server.BootstrapExpect = 1
	c.Client.Enabled = &t
	c.Plugins = []*PluginConfig{{Name: "raw_exec", Config: map[string]interface{}{"enabled": true}}}
	return c
}

// LoadConfigFile parses one agent config file (HCL or JSON).
func LoadConfigFile(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	p := hclparse.NewParser()
	var f *hcl.File
	var diags hcl.Diagnostics
	if strings.HasSuffix(path, ".json") {
		f, diags = p.ParseJSON(src, path)
	} else {
		f, diags = p.ParseHCL(src, path)
	}
	if diags.HasErrors() {
		return nil, errors.New(diags.Error())
	}
	var c Config
	if diags := gohcl.DecodeBody(f.Body, nil, &c); diags.HasErrors() {
		return nil, errors.New(diags.Error())
	}
	c.Unused = map[string]string{}
	noteUnused(c.Remain, &Config{}, "", c.Unused)
	if c.Server != nil {
		noteUnused(c.Server.Remain, &ServerConfig{}, "server.", c.Unused)
	}
	if c.Client != nil {
		noteUnused(c.Client.Remain, &ClientConfig{}, "client.", c.Unused)
		if c.Client.Artifact != nil {
			noteUnused(c.Client.Artifact.Remain, &ClientArtifact{}, "client.artifact.", c.Unused)
		}
		if err := metaBlock(c.Client); err != nil {
			return nil, err
		}
	}
	for _, pc := range c.Plugins {
		cfg, err := pluginConfig(pc.Body)
		if err != nil {
			return nil, fmt.Errorf("plugin %q: %w", pc.Name, err)
		}
		pc.Config = cfg
	}
	return &c, nil
}

// noteUnused records settings nomadish accepts but does not act on, with
// their positions, so the agent can warn about them.
func noteUnused(body hcl.Body, decoded interface{}, prefix string, out map[string]string) {
	sb, ok := body.(*hclsyntax.Body)
	if !ok || sb == nil {
		return
	}
	schema, _ := gohcl.ImpliedBodySchema(decoded)
	known := map[string]bool{}
	for _, a := range schema.Attributes {
		known[a.Name] = true
	}
	for _, b := range schema.Blocks {
		known[b.Type] = true
	}
	for name, a := range sb.Attributes {
		if !known[name] {
			out[prefix+name] = a.SrcRange.String()
		}
	}
	for _, b := range sb.Blocks {
		if !known[b.Type] {
			out[prefix+b.Type] = b.TypeRange.String()
		}
	}
}

// metaBlock accepts `meta { k = "v" }`, the block form of client meta.
func metaBlock(cc *ClientConfig) error {
	sb, ok := cc.Remain.(*hclsyntax.Body)
	if !ok || sb == nil {
		return nil
	}
	for _, b := range sb.Blocks {
		if b.Type != "meta" {
			continue
		}
		m, err := bodyToMap(b.Body)
		if err != nil {
			return err
		}
		if cc.Meta == nil {
			cc.Meta = map[string]string{}
		}
		for k, v := range m {
			s, ok := v.(string)
			if !ok {
				return fmt.Errorf("%s: client.meta.%s must be a string", b.DefRange().String(), k)
			}
			cc.Meta[k] = s
		}
	}
	return nil
}

// pluginConfig turns the `config` block of a plugin block into a map.
func pluginConfig(body hcl.Body) (map[string]interface{}, error) {
	content, diags := body.Content(&hcl.BodySchema{
		Blocks:     []hcl.BlockHeaderSchema{{Type: "config"}},
		Attributes: []hcl.AttributeSchema{{Name: "args"}},
	})
	if diags.HasErrors() {
		return nil, errors.New(diags.Error())
	}
	if len(content.Blocks) == 0 {
		return map[string]interface{}{}, nil
	}
	return bodyToMap(content.Blocks[0].Body)
}

// bodyToMap converts an HCL body into plain Go values: attributes become
// values, nested blocks become maps (a list of maps if repeated).
func bodyToMap(body hcl.Body) (map[string]interface{}, error) {
	out := map[string]interface{}{}
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		attrs, diags := body.JustAttributes()
		if diags.HasErrors() {
			return nil, errors.New(diags.Error())
		}
		for name, a := range attrs {
			v, err := attrValue(a.Expr)
			if err != nil {
				return nil, err
			}
			out[name] = v
		}
		return out, nil
	}
	for name, a := range sb.Attributes {
		v, err := attrValue(a.Expr)
		if err != nil {
			return nil, err
		}
		out[name] = v
	}
	for _, b := range sb.Blocks {
		m, err := bodyToMap(b.Body)
		if err != nil {
			return nil, err
		}
		switch prev := out[b.Type].(type) {
		case nil:
			out[b.Type] = m
		case map[string]interface{}:
			out[b.Type] = []interface{}{prev, m}
		case []interface{}:
			out[b.Type] = append(prev, m)
		}
	}
	return out, nil
}

func attrValue(expr hcl.Expression) (interface{}, error) {
	v, diags := expr.Value(nil)
	if diags.HasErrors() {
		return nil, errors.New(diags.Error())
	}
	raw, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil, err
	}
	var out interface{}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Merge returns c with every setting of o laid over it.
func (c *Config) Merge(o *Config) *Config {
	r := *c
	setStr(&r.Name, o.Name)
	setStr(&r.Region, o.Region)
	setStr(&r.Datacenter, o.Datacenter)
	setStr(&r.DataDir, o.DataDir)
	setStr(&r.BindAddr, o.BindAddr)
	setStr(&r.LogLevel, o.LogLevel)
	setStr(&r.PluginDir, o.PluginDir)
	if o.Ports != nil {
		p := *r.Ports
		setInt(&p.HTTP, o.Ports.HTTP)
		setInt(&p.RPC, o.Ports.RPC)
		setInt(&p.Serf, o.Ports.Serf)
		r.Ports = &p
	}
	r.Addresses = mergeAddrs(r.Addresses, o.Addresses)
	r.Advertise = mergeAddrs(r.Advertise, o.Advertise)
	if o.Server != nil {
		s := *r.Server
		if o.Server.Enabled != nil {
			s.Enabled = o.Server.Enabled
		}
		setInt(&s.BootstrapExpect, o.Server.BootstrapExpect)
		if o.Server.NumSchedulers != nil {
			s.NumSchedulers = o.Server.NumSchedulers
		}
		if o.Server.EventBufferSize != nil {
			s.EventBufferSize = o.Server.EventBufferSize
		}
		setStr(&s.Encrypt, o.Server.Encrypt)
		setStr(&s.HeartbeatGrace, o.Server.HeartbeatGrace)
		setStr(&s.MinHeartbeatTTL, o.Server.MinHeartbeatTTL)
		setStr(&s.JobGCInterval, o.Server.JobGCInterval)
		setStr(&s.JobGCThreshold, o.Server.JobGCThreshold)
		setStr(&s.EvalGCThreshold, o.Server.EvalGCThreshold)
		setStr(&s.BatchEvalGCThreshold, o.Server.BatchEvalGCThreshold)
		setStr(&s.DeploymentGCThreshold, o.Server.DeploymentGCThreshold)
		setStr(&s.NodeGCThreshold, o.Server.NodeGCThreshold)
		if o.Server.ServerJoin != nil {
			s.ServerJoin = o.Server.ServerJoin
		}
		r.Server = &s
	}
	if o.Client != nil {
		cl := *r.Client
		if o.Client.Enabled != nil {
			cl.Enabled = o.Client.Enabled
		}
		if len(o.Client.Servers) > 0 {
			cl.Servers = o.Client.Servers
		}
		setStr(&cl.NodeClass, o.Client.NodeClass)
		setStr(&cl.NodePool, o.Client.NodePool)
		if len(o.Client.Meta) > 0 {
			m := map[string]string{}
			for k, v := range cl.Meta {
				m[k] = v
			}
			for k, v := range o.Client.Meta {
				m[k] = v
			}
			cl.Meta = m
		}
		setInt(&cl.CPUTotalCompute, o.Client.CPUTotalCompute)
		setInt(&cl.MemoryTotalMB, o.Client.MemoryTotalMB)
		if o.Client.Reserved != nil {
			cl.Reserved = o.Client.Reserved
		}
		if o.Client.ServerJoin != nil {
			cl.ServerJoin = o.Client.ServerJoin
		}
		if o.Client.DNS != nil {
			cl.DNS = o.Client.DNS
		}
		if o.Client.Artifact != nil {
			cl.Artifact = o.Client.Artifact
		}
		setStr(&cl.BridgeNetworkName, o.Client.BridgeNetworkName)
		setStr(&cl.BridgeNetworkSubnet, o.Client.BridgeNetworkSubnet)
		if o.Client.BridgeNetworkHairpinMode != nil {
			cl.BridgeNetworkHairpinMode = o.Client.BridgeNetworkHairpinMode
		}
		r.Client = &cl
	}
	plugins := map[string]*PluginConfig{}
	var order []string
	for _, p := range append(append([]*PluginConfig(nil), c.Plugins...), o.Plugins...) {
		if _, ok := plugins[p.Name]; !ok {
			order = append(order, p.Name)
		}
		plugins[p.Name] = p
	}
	r.Plugins = nil
	for _, n := range order {
		r.Plugins = append(r.Plugins, plugins[n])
	}
	if o.DevMode {
		r.DevMode = true
	}
	r.Join = append(append([]string(nil), c.Join...), o.Join...)
	r.Unused = map[string]string{}
	for k, v := range c.Unused {
		r.Unused[k] = v
	}
	for k, v := range o.Unused {
		r.Unused[k] = v
	}
	return &r
}

func mergeAddrs(a, b *Addresses) *Addresses {
	r := Addresses{}
	if a != nil {
		r = *a
	}
	if b != nil {
		setStr(&r.HTTP, b.HTTP)
		setStr(&r.RPC, b.RPC)
		setStr(&r.Serf, b.Serf)
	}
	return &r
}

func setStr(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

func setInt(dst *int, v int) {
	if v != 0 {
		*dst = v
	}
}

// ServerEnabled reports whether the agent runs a server.
func (c *Config) ServerEnabled() bool {
	return c.Server != nil && c.Server.Enabled != nil && *c.Server.Enabled
}

// ClientEnabled reports whether the agent runs a client.
func (c *Config) ClientEnabled() bool {
	return c.Client != nil && c.Client.Enabled != nil && *c.Client.Enabled
}

// Validate checks the merged configuration.
func (c *Config) Validate() error {
	var errs []error
	if !c.ServerEnabled() && !c.ClientEnabled() {
		errs = append(errs, errors.New("must specify either server, client or dev mode for the agent"))
	}
	if c.DataDir == "" && !c.DevMode {
		errs = append(errs, errors.New("must specify data directory (data_dir or -data-dir)"))
	}
	if c.DataDir != "" && !filepath.IsAbs(c.DataDir) {
		if abs, err := filepath.Abs(c.DataDir); err == nil {
			c.DataDir = abs
		}
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"http", c.Ports.HTTP}, {"rpc", c.Ports.RPC}, {"serf", c.Ports.Serf}} {
		if p.v < 0 || p.v > 65535 {
			errs = append(errs, fmt.Errorf("ports.%s: %d is not a valid port", p.name, p.v))
		}
	}
	if n := c.Server.EventBufferSize; n != nil && *n < 1 {
		errs = append(errs, fmt.Errorf("server.event_buffer_size: %d, want at least 1", *n))
	}
	for _, d := range []struct{ name, v string }{
		{"server.heartbeat_grace", c.Server.HeartbeatGrace},
		{"server.min_heartbeat_ttl", c.Server.MinHeartbeatTTL},
	} {
		if d.v == "" {
			continue
		}
		if _, err := time.ParseDuration(d.v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", d.name, err))
		}
	}
	for _, d := range c.Server.gcDurations() {
		if *d.v == "" {
			continue
		}
		if v, err := time.ParseDuration(*d.v); err != nil {
			errs = append(errs, fmt.Errorf("server.%s: %v", d.name, err))
		} else if v <= 0 {
			errs = append(errs, fmt.Errorf("server.%s: must be positive, got %q", d.name, *d.v))
		}
	}
	if c.Server != nil {
		if _, err := DecodeGossipKey(c.Server.Encrypt); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// gcDuration is one garbage collection option of the server block.
type gcDuration struct {
	name string
	v    *string
}

// gcDurations lists the garbage collection options by their Nomad names.
func (s *ServerConfig) gcDurations() []gcDuration {
	return []gcDuration{
		{"job_gc_interval", &s.JobGCInterval}, {"job_gc_threshold", &s.JobGCThreshold},
		{"eval_gc_threshold", &s.EvalGCThreshold}, {"batch_eval_gc_threshold", &s.BatchEvalGCThreshold},
		{"deployment_gc_threshold", &s.DeploymentGCThreshold}, {"node_gc_threshold", &s.NodeGCThreshold},
	}
}

// addr joins the bind address for a protocol with its port.
func (c *Config) addr(specific string, port int) string {
	host := c.BindAddr
	if specific != "" {
		host = specific
	}
	return fmt.Sprintf("%s:%d", host, port)
}

// PluginConfigFor returns the config map of a plugin, or nil.
func (c *Config) PluginConfigFor(name string) map[string]interface{} {
	for _, p := range c.Plugins {
		if p.Name == name {
			return p.Config
		}
	}
	return nil
}
