package structs

import (
	"fmt"
	"strconv"
)

// validateServices checks a group's and its tasks' service blocks. Only
// built-in services are checked beyond their provider: consul ones are
// stored and not run.
func (tg *TaskGroup) validateServices(p *problems, path string) {
	ports := map[string]bool{}
	for _, n := range tg.Networks {
		if n == nil {
			continue
		}
		for _, list := range [][]Port{n.ReservedPorts, n.DynamicPorts} {
			for _, port := range list {
				ports[port.Label] = true
			}
		}
	}
	binds := map[string]string{}
	for i, s := range tg.Services {
		if s != nil {
			sp := join(path, fmt.Sprintf("service[%d]", i))
			validateService(p, sp, s, "", ports, len(tg.Networks) > 0)
			if s.BuiltinProvider() {
				validateConnect(p, sp, s.Connect, true, binds)
			}
		}
	}
	for _, t := range tg.Tasks {
		if t == nil {
			continue
		}
		tports := ports
		hasNet := len(tg.Networks) > 0
		if t.Resources != nil && len(t.Resources.Networks) > 0 {
			tports = map[string]bool{}
			for k := range ports {
				tports[k] = true
			}
			for _, n := range t.Resources.Networks {
				for _, list := range [][]Port{n.ReservedPorts, n.DynamicPorts} {
					for _, port := range list {
						tports[port.Label] = true
					}
				}
			}
			hasNet = true
		}
		for i, s := range t.Services {
			if s != nil {
				sp := join(path, fmt.Sprintf("task %q -> service[%d]", t.Name, i))
				validateService(p, sp, s, t.Name, tports, hasNet)
				if s.BuiltinProvider() {
					validateConnect(p, sp, s.Connect, false, nil)
				}
			}
		}
	}
}

func validateService(p *problems, path string, s *Service, task string, ports map[string]bool, hasNet bool) {
	switch s.Provider {
	case "", ServiceProviderConsul:
		return
	case ServiceProviderNomad, ServiceProviderNomadish:
	default:
		p.add(path, "provider %q must be nomad, nomadish or consul", s.Provider)
		return
	}
	if s.Name == "" {
		p.add(path, "service name is required")
	}
	switch s.AddressMode {
	case "", AddressModeAuto, AddressModeHost, AddressModeAlloc, AddressModeDriver:
	default:
		p.add(path, "address_mode %q must be auto, host, alloc or driver", s.AddressMode)
	}
	checkPort := func(where, label string) {
		if label == "" {
			return
		}
		if _, err := strconv.Atoi(label); err == nil {
			return
		}
		if hasNet && !ports[label] {
			p.add(where, "port %q is not a port of the group's network", label)
		}
	}
	checkPort(path, s.PortLabel)
	for i, c := range s.Checks {
		if c == nil {
			continue
		}
		cp := join(path, fmt.Sprintf("check[%d]", i))
		switch c.Type {
		case "http", "tcp", "grpc":
			if c.PortLabel == "" && s.PortLabel == "" {
				p.add(cp, "%s check needs a port, on the check or the service", c.Type)
			}
			checkPort(cp, c.PortLabel)
		case "script":
			if c.Command == "" {
				p.add(cp, "script check needs a command")
			}
			if task == "" && c.TaskName == "" {
				p.add(cp, "script check of a group service needs task")
			}
		default:
			p.add(cp, "check type %q must be http, tcp, grpc or script", c.Type)
		}
		if c.Type == "http" && c.Path == "" {
			p.add(cp, "http check needs a path")
		}
		if c.Interval <= 0 {
			p.add(cp, "interval must be positive")
		}
		if c.Timeout <= 0 {
			p.add(cp, "timeout must be positive")
		}
		if c.SuccessBeforePassing < 0 {
			p.add(cp, "success_before_passing must not be negative")
		}
		if c.FailuresBeforeCritical < 0 {
			p.add(cp, "failures_before_critical must not be negative")
		}
		if r := c.CheckRestart; r != nil {
			if r.Limit < 0 {
				p.add(cp, "check_restart.limit must not be negative")
			}
			if r.Grace < 0 {
				p.add(cp, "check_restart.grace must not be negative")
			}
			if r.Limit > 0 && task == "" && c.TaskName == "" {
				p.add(cp, "check_restart of a group service needs task, the task to restart")
			}
		}
	}
}
