package template

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestNomadService(t *testing.T) {
	catalog := map[string][]*structs.ServiceRegistration{
		"web": {
			{ID: "w2", ServiceName: "web", Address: "10.0.0.2", Port: 8080, Status: structs.CheckPassing},
			{ID: "w1", ServiceName: "web", Address: "10.0.0.1", Port: 8080},
			{ID: "w3", ServiceName: "web", Address: "10.0.0.3", Port: 8080, Status: structs.CheckCritical},
		},
	}
	lookup := func(name string) ([]*structs.ServiceRegistration, error) {
		if name == "broken" {
			return nil, errors.New("no servers")
		}
		return catalog[name], nil
	}
	tests := []struct {
		name     string
		tmpl     string
		lookup   ServiceLookup
		want     string
		services []string
		wantErr  bool
	}{
		{name: "healthy instances sorted", tmpl: `{{ range nomadService "web" }}{{ .Address }}:{{ .Port }} {{ end }}`, lookup: lookup,
			want: "10.0.0.1:8080 10.0.0.2:8080 ", services: []string{"web"}},
		{name: "unknown service", tmpl: `{{ range nomadService "db" }}x{{ end }}`, lookup: lookup, want: "", services: []string{"db"}},
		{name: "choose one", tmpl: `{{ range nomadService 1 "key" "web" }}{{ .ID }}{{ end }}`, lookup: lookup, services: []string{"web"}},
		{name: "no lookup renders empty", tmpl: `{{ range nomadService "web" }}x{{ end }}`, want: "", services: []string{"web"}},
		{name: "lookup error", tmpl: `{{ range nomadService "broken" }}x{{ end }}`, lookup: lookup, wantErr: true},
		{name: "wrong arguments", tmpl: `{{ range nomadService "a" "b" }}x{{ end }}`, lookup: lookup, wantErr: true},
		{name: "fields", tmpl: `{{ with index (nomadService "web") 0 }}{{ .ID }} {{ .ServiceName }}{{ end }}`, lookup: lookup, want: "w1 web", services: []string{"web"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := Paths{AllocDir: dir, TaskDir: filepath.Join(dir, "task")}
			tmpls := []*structs.Template{{EmbeddedTmpl: tc.tmpl, DestPath: "local/out"}}
			res, err := RenderWithOptions(tmpls, p, nil, func(s string) string { return s }, Options{Services: tc.lookup})
			if (err != nil) != tc.wantErr {
				t.Fatalf("RenderWithOptions() error = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			b, _ := os.ReadFile(filepath.Join(p.TaskDir, "local", "out"))
			if tc.name == "choose one" {
				if got := string(b); got != "w1" && got != "w2" {
					t.Errorf("out = %q, want one healthy ID", got)
				}
			} else if string(b) != tc.want {
				t.Errorf("out = %q, want %q", b, tc.want)
			}
			if strings.Join(res.Services, ",") != strings.Join(tc.services, ",") {
				t.Errorf("Services = %v, want %v", res.Services, tc.services)
			}
		})
	}
}

func TestRenderReportsChanges(t *testing.T) {
	dir := t.TempDir()
	p := Paths{AllocDir: dir, TaskDir: filepath.Join(dir, "task")}
	regs := []*structs.ServiceRegistration{{ID: "a", Address: "10.0.0.1", Port: 80}}
	lookup := func(string) ([]*structs.ServiceRegistration, error) { return regs, nil }
	tmpls := []*structs.Template{
		{EmbeddedTmpl: `{{ range nomadService "web" }}{{ .Address }}{{ end }}`, DestPath: "local/a"},
		{EmbeddedTmpl: `static`, DestPath: "local/b"},
	}
	render := func() []string {
		t.Helper()
		res, err := RenderWithOptions(tmpls, p, nil, func(s string) string { return s }, Options{Services: lookup})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range res.Changed {
			out = append(out, c.DestPath)
		}
		return out
	}
	steps := []struct {
		name   string
		mutate func()
		want   string
	}{
		{name: "first render writes both", mutate: func() {}, want: "local/a,local/b"},
		{name: "same catalog changes nothing", mutate: func() {}, want: ""},
		{name: "instance goes critical", mutate: func() { regs[0].Status = structs.CheckCritical }, want: "local/a"},
		{name: "instance recovers", mutate: func() { regs[0].Status = structs.CheckPassing }, want: "local/a"},
	}
	for _, s := range steps {
		s.mutate()
		if got := strings.Join(render(), ","); got != s.want {
			t.Errorf("%s: Changed = %q, want %q", s.name, got, s.want)
		}
	}
}
