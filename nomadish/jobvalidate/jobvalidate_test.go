package jobvalidate

import (
	"reflect"
	"strings"
	"testing"

	"github.com/nomadish/nomadish/nomadish/jobspec"
)

func TestTaskConfigs(t *testing.T) {
	tests := []struct {
		name  string
		tasks string
		known KnownDriver
		want  []string
	}{
		{
			name: "valid raw_exec",
			tasks: `task "api" {
  driver = "raw_exec"
  config {
    command = "/bin/sh"
    args    = ["-c", "true"]
  }
}`,
		},
		{
			name: "valid docker with nested blocks",
			tasks: `task "api" {
  driver = "docker"
  config {
    image  = "busybox"
    ports  = ["http"]
    labels = { a = "b" }
  }
}`,
		},
		{
			name: "wrong type in a list",
			tasks: `task "api" {
  driver = "raw_exec"
  config {
    command = "/bin/sh"
    args    = [1]
  }
}`,
			want: []string{`group "web" -> task "api": config.args[0]: want string, got number`},
		},
		{
			name: "unknown and missing fields",
			tasks: `task "api" {
  driver = "docker"
  config {
    imgae = "busybox"
  }
}`,
			want: []string{
				`group "web" -> task "api": config.image: required field is missing`,
				`group "web" -> task "api": config.imgae: unknown field`,
			},
		},
		{
			name: "every task is checked",
			tasks: `task "a" {
  driver = "exec"
  config {
    command = true
  }
}
task "b" {
  driver = "raw_exec"
  config {}
}`,
			want: []string{
				`group "web" -> task "a": config.command: want string, got bool`,
				`group "web" -> task "b": config.command: required field is missing`,
			},
		},
		{
			name: "unknown driver",
			tasks: `task "api" {
  driver = "dokcer"
  config {
    image = "busybox"
  }
}`,
			want: []string{`group "web" -> task "api": unknown driver "dokcer"`},
		},
		{
			name:  "unknown driver rejected by known",
			tasks: `task "api" { driver = "dokcer" }`,
			known: func(name string) bool { return name == "ext" },
			want:  []string{`group "web" -> task "api": unknown driver "dokcer"`},
		},
		{
			name: "third-party driver accepted by known",
			tasks: `task "api" {
  driver = "ext"
  config {
    anything = 1
  }
}`,
			known: func(name string) bool { return name == "ext" },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "job \"j\" {\n  group \"web\" {\n" + tc.tasks + "\n  }\n}\n"
			job, err := jobspec.Parse(&jobspec.ParseConfig{Path: "j.nomad.hcl", Body: []byte(src)})
			if err != nil {
				t.Fatalf("Parse() = %v", err)
			}
			var got []string
			if err := TaskConfigs(job, tc.known); err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("TaskConfigs() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNotBuiltin(t *testing.T) {
	src := `job "j" {
  group "web" {
    task "a" {
  driver = "ext"
}
    task "b" {
  driver = "raw_exec"
}
  }
}`
	job, err := jobspec.Parse(&jobspec.ParseConfig{Path: "j.nomad.hcl", Body: []byte(src)})
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	got := NotBuiltin(job)
	want := []string{`group "web" -> task "a": driver "ext"`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("NotBuiltin() = %q, want %q", got, want)
	}
}
