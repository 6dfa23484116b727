package jobvalidate

import (
	"fmt"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// Unsupported lists the parts of a job that parse and are stored but that
// nomadish does not act on, where that changes how the job runs: Vault
// tokens, Consul Connect sidecars, CSI volumes, services registered in
// Consul. Each is a warning, not an error: the job still runs, without it.
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
			services = append(services, t.Services...)
		}
		for _, s := range services {
			if s == nil {
				continue
			}
			sw := gw + fmt.Sprintf(" -> service %q", s.Name)
			if s.Connect != nil {
				add(sw, "consul connect (no sidecar proxy is run)")
			}
			if s.Provider == "consul" {
				add(sw, `provider "consul" (the service is not registered; use provider = "nomad")`)
			}
		}
	}
	return out
}
