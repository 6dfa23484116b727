package jobvalidate

import (
	"fmt"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// Unsupported lists the parts of a job that parse and are stored but that
// nomadish does not act on, where that changes how the job runs: Vault
// tokens, Consul Connect (but for the upstreams of a built-in provider
// service, which the client's proxy serves), CSI volumes, services
// registered in Consul, task config options a built-in driver accepts
// without acting on them. Each is a warning, not an error: the job still
// runs, without it.
func Unsupported(job *structs.Job) []string {
	var out []string
	add := func(where, what string) {
		out = append(out, fmt.Sprintf("%s: %s is not supported by nomadish", where, what))
	}
	for _, tg := range job.TaskGroups {
		if tg == nil {
			continue
		}
		gw := fmt.Sprintf("group %q", tg.Name)
		for name, v := range tg.Volumes {
			if v != nil && v.Type == "csi" {
				add(gw+fmt.Sprintf(" -> volume %q", name), "a CSI volume (it is not mounted)")
			}
		}
		services := append([]*structs.Service(nil), tg.Services...)
		for _, t := range tg.Tasks {
			if t == nil {
				continue
			}
			tw := gw + fmt.Sprintf(" -> task %q", t.Name)
			if t.Vault != nil {
				add(tw, "vault (no Vault token is issued to the task)")
			}
			for _, what := range configUnsupported(t) {
				add(tw, what)
			}
			services = append(services, t.Services...)
		}
		for _, s := range services {
			if s == nil {
				continue
			}
			sw := gw + fmt.Sprintf(" -> service %q", s.Name)
			switch {
			case s.Connect == nil:
			case s.BuiltinProvider():
				for _, what := range connectUnsupported(s.Connect) {
					add(sw, what)
				}
			default:
				add(sw, "consul connect (no sidecar proxy is run)")
			}
			if s.Provider == "consul" {
				add(sw, `provider "consul" (the service is not registered; use provider = "nomad")`)
			}
		}
	}
	return out
}

// connectUnsupported lists the parts of a built-in provider service's
// connect block that the client's proxy does not serve.
func connectUnsupported(c *structs.ConsulConnect) []string {
	var out []string
	if c.Native {
		out = append(out, "connect native (no mTLS is offered)")
	}
	if c.Gateway != nil {
		out = append(out, "a connect gateway (none is run)")
	}
	if c.SidecarTask != nil {
		out = append(out, "sidecar_task (no sidecar task is run; the client proxies the upstreams)")
	}
	ss := c.SidecarService
	if ss == nil || ss.Proxy == nil {
		return out
	}
	if ss.Proxy.Expose != nil {
		out = append(out, "proxy expose (no paths are exposed)")
	}
	if ss.Proxy.TransparentProxy != nil {
		out = append(out, "transparent_proxy (only upstreams at their local_bind_port are proxied)")
	}
	for _, u := range ss.Proxy.Upstreams {
		if u.LocalBindSocketPath != "" {
			out = append(out, fmt.Sprintf("upstream %q local_bind_socket_path (the proxy listens on TCP only)", u.DestinationName))
		}
		if u.DestinationPeer != "" || u.DestinationPartition != "" {
			out = append(out, fmt.Sprintf("upstream %q destination_peer and destination_partition (instances come from this cluster)", u.DestinationName))
		}
	}
	return out
}
