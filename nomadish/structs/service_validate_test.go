package structs

import (
	"strings"
	"testing"
	"time"
)

func TestValidateServices(t *testing.T) {
	httpCheck := func() *ServiceCheck {
		return &ServiceCheck{Type: "http", Path: "/health", Interval: time.Second, Timeout: time.Second}
	}
	tests := []struct {
		name     string
		services []*Service
		group    bool
		// want is a substring of the error; "" means valid.
		want string
	}{
		{name: "valid task service", services: []*Service{{Name: "web", PortLabel: "http", Provider: "nomad", Checks: []*ServiceCheck{httpCheck()}}}},
		{name: "consul is not checked", services: []*Service{{Name: "", PortLabel: "nope", Provider: "consul"}}},
		{name: "unknown provider", services: []*Service{{Name: "web", Provider: "etcd"}}, want: `provider "etcd"`},
		{name: "name required", services: []*Service{{Provider: "nomadish"}}, want: "service name is required"},
		{name: "unknown port", services: []*Service{{Name: "web", PortLabel: "grpc", Provider: "nomad"}}, want: `port "grpc"`},
		{name: "numeric port", services: []*Service{{Name: "web", PortLabel: "8080", Provider: "nomad"}}},
		{name: "bad address mode", services: []*Service{{Name: "web", AddressMode: "bridge", Provider: "nomad"}}, want: "address_mode"},
		{name: "check type", services: []*Service{{Name: "web", PortLabel: "http", Provider: "nomad",
			Checks: []*ServiceCheck{{Type: "icmp", Interval: time.Second, Timeout: time.Second}}}}, want: `check type "icmp"`},
		{name: "http check path", services: []*Service{{Name: "web", PortLabel: "http", Provider: "nomad",
			Checks: []*ServiceCheck{{Type: "http", Interval: time.Second, Timeout: time.Second}}}}, want: "http check needs a path"},
		{name: "interval and timeout", services: []*Service{{Name: "web", PortLabel: "http", Provider: "nomad",
			Checks: []*ServiceCheck{{Type: "tcp"}}}}, want: "interval must be positive"},
		{name: "check needs a port", services: []*Service{{Name: "web", Provider: "nomad",
			Checks: []*ServiceCheck{{Type: "tcp", Interval: time.Second, Timeout: time.Second}}}}, want: "needs a port"},
		{name: "group script check needs task", group: true, services: []*Service{{Name: "web", Provider: "nomad",
			Checks: []*ServiceCheck{{Type: "script", Command: "/bin/true", Interval: time.Second, Timeout: time.Second}}}}, want: "needs task"},
		{name: "group check_restart needs task", group: true, services: []*Service{{Name: "web", PortLabel: "http", Provider: "nomad",
			Checks: []*ServiceCheck{{Type: "tcp", Interval: time.Second, Timeout: time.Second, CheckRestart: &CheckRestart{Limit: 2}}}}},
			want: "check_restart of a group service needs task"},
		{name: "group check_restart with task", group: true, services: []*Service{{Name: "web", PortLabel: "http", Provider: "nomad",
			Checks: []*ServiceCheck{{Type: "tcp", TaskName: "api", Interval: time.Second, Timeout: time.Second, CheckRestart: &CheckRestart{Limit: 2}}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := validJob()
			tg := j.TaskGroups[0]
			tg.Networks = []*NetworkResource{{DynamicPorts: []Port{{Label: "http"}}}}
			if tc.group {
				tg.Services = tc.services
			} else {
				tg.Tasks[0].Services = tc.services
			}
			err := j.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func TestServiceWarnings(t *testing.T) {
	j := validJob()
	j.TaskGroups[0].Services = []*Service{{Name: "a", Provider: "consul"}, {Name: "b", Provider: "nomad"}}
	j.TaskGroups[0].Tasks[0].Services = []*Service{{Name: "c"}}
	got := j.ServiceWarnings()
	if len(got) != 2 || !strings.Contains(got[0], `group "web" service "a"`) || !strings.Contains(got[1], `task "api" service "c"`) {
		t.Errorf("ServiceWarnings() = %q", got)
	}
}
