package jobspec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nomadish/nomadish/nomadish/structs"
)

var (
	serviceSpec = newSpec(
		"name tags canary_tags enable_tag_override port address_mode address task on_update provider cluster kind meta canary_meta tagged_addresses",
		"check check_restart connect meta canary_meta tagged_addresses identity weights")
	checkSpec = newSpec(
		"name type command args path protocol port expose address_mode advertise interval timeout initial_status notes tls_server_name tls_skip_verify method grpc_service grpc_use_tls task success_before_passing failures_before_critical failures_before_warning body on_update header",
		"header check_restart")
	checkRestartSpec = newSpec("limit grace ignore_warnings", "")
	connectSpec      = newSpec("native", "sidecar_service sidecar_task gateway")
	sidecarSpec      = newSpec("tags port disable_default_tcp_check meta", "proxy meta")
	proxySpec        = newSpec("local_service_address local_service_port", "upstreams expose transparent_proxy config")
	upstreamSpec     = newSpec(
		"destination_name destination_namespace destination_partition destination_peer destination_type local_bind_port local_bind_address datacenter local_bind_socket_path local_bind_socket_mode",
		"mesh_gateway config")
	meshGatewaySpec = newSpec("mode", "")
	weightsSpec     = newSpec("passing warning", "")
)

func (d *decoder) service(b *hcl.Block) *structs.Service {
	n := d.content(b, serviceSpec)
	s := &structs.Service{}
	n.str("name", &s.Name)
	n.strs("tags", &s.Tags)
	n.strs("canary_tags", &s.CanaryTags)
	n.boolean("enable_tag_override", &s.EnableTagOverride)
	n.str("port", &s.PortLabel)
	n.str("address_mode", &s.AddressMode)
	n.str("address", &s.Address)
	n.str("task", &s.TaskName)
	n.str("on_update", &s.OnUpdate)
	n.str("provider", &s.Provider)
	n.str("cluster", &s.Cluster)
	n.str("kind", new(string))
	s.Meta = n.strMap("meta")
	s.CanaryMeta = n.strMap("canary_meta")
	s.TaggedAddresses = n.strMap("tagged_addresses")
	var restart *structs.CheckRestart
	if rb := n.one("check_restart"); rb != nil {
		restart = d.checkRestart(rb)
	}
	for _, cb := range n.all("check") {
		c := d.check(cb)
		if c.CheckRestart == nil && restart != nil {
			r := *restart
			c.CheckRestart = &r
		}
		s.Checks = append(s.Checks, c)
	}
	if cb := n.one("connect"); cb != nil {
		cn := d.content(cb, connectSpec)
		s.Connect = &structs.ConsulConnect{}
		cn.boolean("native", &s.Connect.Native)
		if sb := cn.one("sidecar_service"); sb != nil {
			s.Connect.SidecarService = d.sidecarService(sb)
		}
		if sb := cn.one("sidecar_task"); sb != nil {
			s.Connect.SidecarTask = d.anyMap(sb.Body)
		}
		if gb := cn.one("gateway"); gb != nil {
			s.Connect.Gateway = d.anyMap(gb.Body)
		}
	}
	if ib := n.one("identity"); ib != nil {
		s.Identity = d.identity(ib)
	}
	if wb := n.one("weights"); wb != nil {
		wn := d.content(wb, weightsSpec)
		wn.int("passing", new(int))
		wn.int("warning", new(int))
	}
	return s
}

func (d *decoder) sidecarService(b *hcl.Block) *structs.ConsulSidecarService {
	n := d.content(b, sidecarSpec)
	ss := &structs.ConsulSidecarService{}
	n.strs("tags", &ss.Tags)
	n.str("port", &ss.Port)
	n.boolean("disable_default_tcp_check", &ss.DisableDefaultTCPCheck)
	ss.Meta = n.strMap("meta")
	if pb := n.one("proxy"); pb != nil {
		pn := d.content(pb, proxySpec)
		p := &structs.ConsulProxy{}
		pn.str("local_service_address", &p.LocalServiceAddress)
		pn.int("local_service_port", &p.LocalServicePort)
		for _, ub := range pn.all("upstreams") {
			p.Upstreams = append(p.Upstreams, d.upstream(ub))
		}
		if eb := pn.one("expose"); eb != nil {
			p.Expose = d.anyMap(eb.Body)
		}
		if tb := pn.one("transparent_proxy"); tb != nil {
			p.TransparentProxy = d.anyMap(tb.Body)
		}
		if cb := pn.one("config"); cb != nil {
			p.Config = d.anyMap(cb.Body)
		}
		ss.Proxy = p
	}
	return ss
}

func (d *decoder) upstream(b *hcl.Block) structs.ConsulUpstream {
	n := d.content(b, upstreamSpec)
	u := structs.ConsulUpstream{}
	n.str("destination_name", &u.DestinationName)
	n.str("destination_namespace", &u.DestinationNamespace)
	n.str("destination_partition", &u.DestinationPartition)
	n.str("destination_peer", &u.DestinationPeer)
	n.str("destination_type", &u.DestinationType)
	n.int("local_bind_port", &u.LocalBindPort)
	n.str("local_bind_address", &u.LocalBindAddress)
	n.str("datacenter", &u.Datacenter)
	n.str("local_bind_socket_path", &u.LocalBindSocketPath)
	n.str("local_bind_socket_mode", &u.LocalBindSocketMode)
	if mb := n.one("mesh_gateway"); mb != nil {
		mn := d.content(mb, meshGatewaySpec)
		u.MeshGateway = &structs.ConsulMeshGateway{}
		mn.str("mode", &u.MeshGateway.Mode)
	}
	if cb := n.one("config"); cb != nil {
		u.Config = d.anyMap(cb.Body)
	}
	return u
}

func (d *decoder) checkRestart(b *hcl.Block) *structs.CheckRestart {
	n := d.content(b, checkRestartSpec)
	r := &structs.CheckRestart{}
	n.int("limit", &r.Limit)
	n.duration("grace", &r.Grace)
	n.boolean("ignore_warnings", &r.IgnoreWarnings)
	return r
}

func (d *decoder) check(b *hcl.Block) *structs.ServiceCheck {
	n := d.content(b, checkSpec)
	c := &structs.ServiceCheck{}
	n.str("name", &c.Name)
	n.str("type", &c.Type)
	n.str("command", &c.Command)
	n.strs("args", &c.Args)
	n.str("path", &c.Path)
	n.str("protocol", &c.Protocol)
	n.str("port", &c.PortLabel)
	n.boolean("expose", &c.Expose)
	n.str("address_mode", &c.AddressMode)
	n.str("advertise", new(string))
	n.duration("interval", &c.Interval)
	n.duration("timeout", &c.Timeout)
	n.str("initial_status", &c.InitialStatus)
	n.str("notes", new(string))
	n.str("tls_server_name", &c.TLSServerName)
	n.boolean("tls_skip_verify", &c.TLSSkipVerify)
	n.str("method", &c.Method)
	n.str("grpc_service", &c.GRPCService)
	n.boolean("grpc_use_tls", &c.GRPCUseTLS)
	n.str("task", &c.TaskName)
	n.int("success_before_passing", &c.SuccessBeforePassing)
	n.int("failures_before_critical", &c.FailuresBeforeCritical)
	n.int("failures_before_warning", &c.FailuresBeforeWarning)
	n.str("body", &c.Body)
	n.str("on_update", &c.OnUpdate)
	c.Header = d.header(n)
	if rb := n.one("check_restart"); rb != nil {
		c.CheckRestart = d.checkRestart(rb)
	}
	return c
}

// header reads a check's header, a map of string lists, as a block or an
// attribute.
func (d *decoder) header(n *node) map[string][]string {
	attrs := hcl.Attributes{}
	if a, ok := n.attrs["header"]; ok {
		v, diags := a.Expr.Value(d.ctx)
		d.diags = append(d.diags, diags...)
		if diags.HasErrors() {
			return nil
		}
		return d.headerValue(v, a.Expr.Range())
	}
	hb := n.one("header")
	if hb == nil {
		return nil
	}
	for k, a := range d.bodyAttrs(hb.Body) {
		attrs[k] = a
	}
	out := map[string][]string{}
	for _, a := range sortedAttrs(attrs) {
		v, diags := a.Expr.Value(d.ctx)
		d.diags = append(d.diags, diags...)
		if diags.HasErrors() || !v.IsWhollyKnown() {
			continue
		}
		v, _ = v.UnmarkDeep()
		lv, err := d.budget.convert(v, cty.List(cty.String))
		if err != nil || lv.IsNull() {
			d.errorf(a.Expr.Range().Ptr(), "Invalid header",
				"Header %q must be a list of strings: %s.", a.Name, errText(err))
			continue
		}
		out[a.Name] = stringList(lv)
	}
	return out
}

func (d *decoder) headerValue(v cty.Value, rng hcl.Range) map[string][]string {
	if v.IsNull() || !v.IsWhollyKnown() {
		return nil
	}
	v, _ = v.UnmarkDeep()
	mv, err := d.budget.convert(v, cty.Map(cty.List(cty.String)))
	if err != nil {
		d.errorf(rng.Ptr(), "Invalid header", "header must be a map of string lists: %s.", err)
		return nil
	}
	out := map[string][]string{}
	for it := mv.ElementIterator(); it.Next(); {
		k, e := it.Element()
		out[k.AsString()] = stringList(e)
	}
	return out
}

func stringList(v cty.Value) []string {
	out := []string{}
	if v.IsNull() {
		return out
	}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.IsNull() {
			out = append(out, e.AsString())
		}
	}
	return out
}

func errText(err error) string {
	if err == nil {
		return "null"
	}
	return fmt.Sprint(err)
}
