package template

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestRender(t *testing.T) {
	alloc := t.TempDir()
	task := filepath.Join(alloc, "web")
	p := Paths{AllocDir: alloc, TaskDir: task}
	env := map[string]string{"NOMAD_ALLOC_ID": "a1", "NOMAD_SECRETS_DIR": filepath.Join(task, "secrets")}
	interp := func(s string) string { return strings.ReplaceAll(s, "${NOMAD_SECRETS_DIR}", env["NOMAD_SECRETS_DIR"]) }
	tmpls := []*structs.Template{
		{EmbeddedTmpl: "id={{ env \"NOMAD_ALLOC_ID\" }}\n{{ range service \"db\" }}{{ .Address }}{{ end }}k={{ key \"x\" }}\n", DestPath: "local/app.conf", Perms: "600"},
		{EmbeddedTmpl: "FOO=\"bar\"\n# note\nID=[[ env \"NOMAD_ALLOC_ID\" ]]\n", DestPath: "${NOMAD_SECRETS_DIR}/file.env", Envvars: true, LeftDelim: "[[", RightDelim: "]]"},
	}
	added, err := Render(tmpls, p, env, interp)
	if err != nil {
		t.Fatalf("Render() error = %v", err)
	}
	b, err := os.ReadFile(filepath.Join(task, "local", "app.conf"))
	if err != nil || string(b) != "id=a1\nk=\n" {
		t.Errorf("app.conf = %q, %v, want %q", b, err, "id=a1\nk=\n")
	}
	if fi, _ := os.Stat(filepath.Join(task, "local", "app.conf")); fi == nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("app.conf mode = %v, want 0600", fi)
	}
	if added["FOO"] != "bar" || added["ID"] != "a1" || len(added) != 2 {
		t.Errorf("env vars = %v, want FOO=bar ID=a1", added)
	}
}

func TestRenderErrors(t *testing.T) {
	alloc := t.TempDir()
	p := Paths{AllocDir: alloc, TaskDir: filepath.Join(alloc, "web")}
	id := func(s string) string { return s }
	for _, tc := range []struct {
		name string
		tmpl *structs.Template
		want string
	}{
		{"escaping destination", &structs.Template{EmbeddedTmpl: "x", DestPath: "../../etc/passwd"}, ErrEscapes.Error()},
		{"escaping source", &structs.Template{SourcePath: "../../../etc/hostname", DestPath: "local/x"}, ErrEscapes.Error()},
		{"unknown function", &structs.Template{EmbeddedTmpl: "{{ nope }}", DestPath: "local/x"}, `function "nope" not defined`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render([]*structs.Template{tc.tmpl}, p, nil, id)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Render() error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
