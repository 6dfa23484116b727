package jobspec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// parseSrc parses src as the file "job.hcl" in a temporary directory.
func parseSrc(t *testing.T, src string, edit func(*ParseConfig)) (*structs.Job, error) {
	t.Helper()
	dir := t.TempDir()
	cfg := &ParseConfig{Path: filepath.Join(dir, "job.hcl"), Body: []byte(src)}
	if edit != nil {
		edit(cfg)
	}
	return Parse(cfg)
}

func mustParse(t *testing.T, src string, edit func(*ParseConfig)) *structs.Job {
	t.Helper()
	job, err := parseSrc(t, src, edit)
	if err != nil {
		t.Fatalf("Parse() error = %v, want nil", err)
	}
	return job
}

func firstTask(j *structs.Job) *structs.Task { return j.TaskGroups[0].Tasks[0] }

func TestParseDefaults(t *testing.T) {
	service := mustParse(t, `job "web" {
  group "g" {
    task "t" {
      driver = "raw_exec"
    }
  }
}`, nil)
	batch := mustParse(t, `job "b" {
  type = "batch"
  group "g" {
    count = 0
    task "t" { driver = "exec" }
  }
}`, nil)
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"namespace", service.Namespace, "default"},
		{"region", service.Region, "global"},
		{"datacenters", service.Datacenters, []string{"*"}},
		{"priority", service.Priority, 50},
		{"node pool", service.NodePool, "default"},
		{"name", service.Name, "web"},
		{"type", service.Type, "service"},
		{"count", service.TaskGroups[0].Count, 1},
		{"explicit count 0", batch.TaskGroups[0].Count, 0},
		{"service restart", *service.TaskGroups[0].RestartPolicy, structs.RestartPolicy{Attempts: 2, Interval: 30 * time.Minute, Delay: 15 * time.Second, Mode: "fail"}},
		{"batch restart", *batch.TaskGroups[0].RestartPolicy, structs.RestartPolicy{Attempts: 3, Interval: 24 * time.Hour, Delay: 15 * time.Second, Mode: "fail"}},
		{"task restart inherits", *firstTask(batch).RestartPolicy, *batch.TaskGroups[0].RestartPolicy},
		{"service reschedule", *service.TaskGroups[0].ReschedulePolicy, structs.ReschedulePolicy{Delay: 30 * time.Second, DelayFunction: "exponential", MaxDelay: time.Hour, Unlimited: true}},
		{"batch reschedule", *batch.TaskGroups[0].ReschedulePolicy, structs.ReschedulePolicy{Attempts: 1, Interval: 24 * time.Hour, Delay: 5 * time.Second, DelayFunction: "constant"}},
		{"service update", *service.TaskGroups[0].Update, *structs.DefaultUpdateStrategy()},
		{"batch update", batch.TaskGroups[0].Update, (*structs.UpdateStrategy)(nil)},
		{"service migrate", *service.TaskGroups[0].Migrate, *structs.DefaultMigrateStrategy()},
		{"batch migrate", batch.TaskGroups[0].Migrate, (*structs.MigrateStrategy)(nil)},
		{"ephemeral disk", *service.TaskGroups[0].EphemeralDisk, structs.EphemeralDisk{SizeMB: 300}},
		{"resources", *firstTask(service).Resources, structs.Resources{CPU: 100, MemoryMB: 300}},
		{"logs", *firstTask(service).LogConfig, structs.LogConfig{MaxFiles: 10, MaxFileSizeMB: 10}},
		{"kill timeout", firstTask(service).KillTimeout, 5 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("Parse().%s = %+v, want %+v", tc.name, tc.got, tc.want)
			}
		})
	}
}

func TestParseMerging(t *testing.T) {
	job := mustParse(t, `job "m" {
  update {
    max_parallel = 3
    canary       = 1
  }
  reschedule { attempts = 7 }
  group "g" {
    update { auto_revert = true }
    restart { attempts = 9 }
    reschedule { delay = "1m" }
    task "t" {
      driver = "exec"
      restart { delay = "2s" }
    }
  }
}`, nil)
	tg := job.TaskGroups[0]
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"job update", job.Update.MaxParallel, 3},
		{"group update from job", tg.Update.MaxParallel, 3},
		{"group canary from job", tg.Update.Canary, 1},
		{"group auto_revert", tg.Update.AutoRevert, true},
		{"group update default stagger", tg.Update.Stagger, 30 * time.Second},
		{"reschedule attempts from job", tg.ReschedulePolicy.Attempts, 7},
		{"reschedule delay from group", tg.ReschedulePolicy.Delay, time.Minute},
		{"reschedule default function", tg.ReschedulePolicy.DelayFunction, "exponential"},
		{"task restart attempts from group", firstTask(job).RestartPolicy.Attempts, 9},
		{"task restart delay", firstTask(job).RestartPolicy.Delay, 2 * time.Second},
		{"task restart default interval", firstTask(job).RestartPolicy.Interval, 30 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("Parse() %s = %v, want %v", tc.name, tc.got, tc.want)
			}
		})
	}
}

const varJob = `
variable "region" {
  type    = string
  default = "global"
}
variable "dcs" {
  type    = list(string)
  default = ["dc1"]
}
variable "n" {
  type    = number
  default = 1
}
locals {
  full = "${local.prefix}-${var.region}"
  prefix = "r"
}
job "v" {
  region      = local.full
  datacenters = var.dcs
  group "g" {
    count = var.n
    task "t" { driver = "exec" }
  }
}`

func TestParseVariables(t *testing.T) {
	dir := t.TempDir()
	varFile := filepath.Join(dir, "vars.hcl")
	if err := os.WriteFile(varFile, []byte("region = \"from-file\"\nn = 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	jsonFile := filepath.Join(dir, "vars.json")
	if err := os.WriteFile(jsonFile, []byte(`{"region": "json", "dcs": ["j1", "j2"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*ParseConfig)
		get  func(*structs.Job) any
		want any
	}{
		{"defaults", nil, func(j *structs.Job) any { return j.Region }, "r-global"},
		{"-var", func(c *ParseConfig) { c.ArgVars = []string{"region=east"} }, func(j *structs.Job) any { return j.Region }, "r-east"},
		{"env", func(c *ParseConfig) { c.Envs = []string{"NOMAD_VAR_region=env", "PATH=/bin"} }, func(j *structs.Job) any { return j.Region }, "r-env"},
		{"-var beats env", func(c *ParseConfig) {
			c.Envs = []string{"NOMAD_VAR_region=env"}
			c.ArgVars = []string{"region=arg"}
		}, func(j *structs.Job) any { return j.Region }, "r-arg"},
		{"var file beats env", func(c *ParseConfig) {
			c.Envs = []string{"NOMAD_VAR_region=env"}
			c.VarFiles = []string{varFile}
		}, func(j *structs.Job) any { return j.Region }, "r-from-file"},
		{"-var beats var file", func(c *ParseConfig) {
			c.VarFiles = []string{varFile}
			c.ArgVars = []string{"region=arg"}
		}, func(j *structs.Job) any { return j.Region }, "r-arg"},
		{"number from var file", func(c *ParseConfig) { c.VarFiles = []string{varFile} }, func(j *structs.Job) any { return j.TaskGroups[0].Count }, 4},
		{"number from -var", func(c *ParseConfig) { c.ArgVars = []string{"n=2"} }, func(j *structs.Job) any { return j.TaskGroups[0].Count }, 2},
		{"json var file", func(c *ParseConfig) { c.VarFiles = []string{jsonFile} }, func(j *structs.Job) any { return []any{j.Region, j.Datacenters} }, []any{"r-json", []string{"j1", "j2"}}},
		{"list from -var", func(c *ParseConfig) { c.ArgVars = []string{`dcs=["a","b"]`} }, func(j *structs.Job) any { return j.Datacenters }, []string{"a", "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			job := mustParse(t, varJob, tc.edit)
			if got := tc.get(job); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%s) = %v, want %v", tc.name, got, tc.want)
			}
		})
	}
}

func TestParseVariableForms(t *testing.T) {
	tests := []struct {
		name string
		src  string
		args []string
		want string
	}{
		{"variables block", `variables { r = "x" }
job "j" { region = var.r }`, nil, "x"},
		{"untyped -var is a string", `variable "r" {}
job "j" { region = var.r }`, []string{"r=[1]"}, "[1]"},
		{"untyped number default", `variable "n" { default = 1 }
job "j" { region = tostring(var.n + 1) }`, []string{"n=41"}, "42"},
		{"untyped list default", `variables { l = ["a"] }
job "j" { region = join(",", var.l) }`, []string{`l=["x","y"]`}, "x,y"},
		{"object attribute", `variable "o" {
  type    = object({ name = string, size = number })
  default = { name = "obj", size = 3 }
}
job "j" { region = "${var.o.name}-${var.o.size}" }`, nil, "obj-3"},
		{"validation passes", `variable "r" {
  default = "ok"
  validation {
    condition     = strlen(var.r) == 2
    error_message = "two letters"
  }
}
job "j" { region = var.r }`, nil, "ok"},
		{"lookup with locals", `variable "env" {}
locals {
  envs = { prod = { dc = "p" }, dev = { dc = "d" } }
}
job "j" { region = lookup(local.envs, var.env, { dc = "none" }).dc }`, []string{"env=dev"}, "d"},
		{"for expression", `job "j" { region = join(",", [for s in ["a", "b"] : upper(s)]) }`, nil, "A,B"},
		{"heredoc", "job \"j\" {\n  region = <<-EOT\n    x${1 + 1}\n    EOT\n}", nil, "x2\n"},
		{"conditional", `job "j" { region = 1 > 0 ? "yes" : "no" }`, nil, "yes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			job := mustParse(t, tc.src, func(c *ParseConfig) { c.ArgVars = tc.args })
			if job.Region != tc.want {
				t.Errorf("Parse(%s).Region = %q, want %q", tc.name, job.Region, tc.want)
			}
		})
	}
}

func TestParseFunctions(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want string
	}{
		{"upper", `upper("a")`, "A"},
		{"format", `format("%s-%03d", "a", 7)`, "a-007"},
		{"jsonencode", `jsonencode({ a = [1, 2] })`, `{"a":[1,2]}`},
		{"jsondecode", `jsondecode("{\"a\":\"b\"}").a`, "b"},
		{"yamldecode", `yamldecode("a: b\n").a`, "b"},
		{"yamlencode", `yamlencode({ a = "b" })`, "\"a\": \"b\"\n"},
		{"cidrsubnet", `cidrsubnet("10.0.0.0/16", 8, 2)`, "10.0.2.0/24"},
		{"base64", `base64encode("hi")`, "aGk="},
		{"sha256", `sha256("a")`, "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"},
		{"merge and keys", `join(",", keys(merge({ a = 1 }, { b = 2 })))`, "a,b"},
		{"try", `try(jsondecode("bad"), "fallback")`, "fallback"},
		{"replace", `replace("a-b", "-", "_")`, "a_b"},
		{"regex_replace", `regex_replace("a1b2", "[0-9]", "")`, "ab"},
		{"file", `file("data.txt")`, "file contents\n"},
		{"fileexists", `tostring(fileexists("data.txt"))`, "true"},
		{"fileset", `join(",", fileset(".", "*.txt"))`, "data.txt"},
		{"templatefile", `templatefile("greeting.tpl", { name = "nomad" })`, "hello nomad\n"},
		{"tostring", `tostring(5)`, "5"},
		{"tolist", `join(",", tolist(toset(["b", "a"])))`, "a,b"},
		{"tonumber", `tostring(tonumber("7") + 1)`, "8"},
		{"convert", `join(",", convert(["x"], list(string)))`, "x"},
		{"formatdate", `formatdate("YYYY", "2024-01-02T00:00:00Z")`, "2024"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range map[string]string{"data.txt": "file contents\n", "greeting.tpl": "hello ${name}\n"} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			job, err := Parse(&ParseConfig{
				Path:    filepath.Join(dir, "job.hcl"),
				Body:    []byte(fmt.Sprintf("job \"j\" {\n  region = %s\n}\n", tc.expr)),
				AllowFS: true,
			})
			if err != nil {
				t.Fatalf("Parse(%s) error = %v", tc.expr, err)
			}
			if job.Region != tc.want {
				t.Errorf("Parse(%s) = %q, want %q", tc.expr, job.Region, tc.want)
			}
		})
	}
}

func TestParseRuntimeReferences(t *testing.T) {
	job := mustParse(t, `job "r" {
  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }
  constraint {
    attribute = node.class
    value     = "${meta.rack}-x"
  }
  group "g" {
    task "t" {
      driver = "exec"
      env {
        IDX  = "${NOMAD_ALLOC_INDEX}"
        HOST = "${attr.unique.network.ip-address}:${NOMAD_PORT_http}"
        ESC  = "$${literal}"
      }
      config {
        args = ["${node.unique.name}", "${var_free}"]
      }
    }
  }
}`, nil)
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"attr in template", job.Constraints[0].LTarget, "${attr.kernel.name}"},
		{"bare traversal", job.Constraints[1].LTarget, "${node.class}"},
		{"meta inside text", job.Constraints[1].RTarget, "${meta.rack}-x"},
		{"NOMAD_ variable", firstTask(job).Env["IDX"], "${NOMAD_ALLOC_INDEX}"},
		{"hyphenated attribute", firstTask(job).Env["HOST"], "${attr.unique.network.ip-address}:${NOMAD_PORT_http}"},
		{"escape", firstTask(job).Env["ESC"], "${literal}"},
		{"config list", firstTask(job).Config["args"], []interface{}{"${node.unique.name}", "${var_free}"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("Parse() %s = %v, want %v", tc.name, tc.got, tc.want)
			}
		})
	}
}

func TestParseDynamicBlocks(t *testing.T) {
	job := mustParse(t, `locals {
  files = { a = "1", b = "2" }
}
job "d" {
  dynamic "group" {
    for_each = ["x", "y"]
    labels   = [group.value]
    content {
      count = group.key + 1
      task "t" {
        driver = "exec"
        config {
          command = "echo-${group.value}"
        }
        dynamic "template" {
          for_each = local.files
          content {
            data        = template.value
            destination = "local/${template.key}"
          }
        }
      }
    }
  }
}`, nil)
	if got, want := len(job.TaskGroups), 2; got != want {
		t.Fatalf("Parse() groups = %d, want %d", got, want)
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"group label", job.TaskGroups[1].Name, "y"},
		{"count from key", job.TaskGroups[1].Count, 2},
		{"config from iterator", job.TaskGroups[1].Tasks[0].Config["command"], "echo-y"},
		{"templates", len(job.TaskGroups[0].Tasks[0].Templates), 2},
		{"template data", job.TaskGroups[0].Tasks[0].Templates[1].EmbeddedTmpl, "2"},
		{"template destination", job.TaskGroups[0].Tasks[0].Templates[1].DestPath, "local/b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("Parse() %s = %v, want %v", tc.name, tc.got, tc.want)
			}
		})
	}
}

func TestParseConstraintForms(t *testing.T) {
	tests := []struct {
		body string
		want structs.Constraint
	}{
		{`attribute = "${attr.os}"
value = "linux"`, structs.Constraint{LTarget: "${attr.os}", RTarget: "linux", Operand: "="}},
		{`attribute = "${attr.os}"
operator = "regexp"
value = "^lin"`, structs.Constraint{LTarget: "${attr.os}", RTarget: "^lin", Operand: "regexp"}},
		{`attribute = "${attr.v}"
version = ">= 1.2"`, structs.Constraint{LTarget: "${attr.v}", RTarget: ">= 1.2", Operand: "version"}},
		{`attribute = "${attr.v}"
semver = "~> 1.2"`, structs.Constraint{LTarget: "${attr.v}", RTarget: "~> 1.2", Operand: "semver"}},
		{`attribute = "${attr.x}"
regexp = "a.*"`, structs.Constraint{LTarget: "${attr.x}", RTarget: "a.*", Operand: "regexp"}},
		{`attribute = "${meta.tags}"
set_contains = "a,b"`, structs.Constraint{LTarget: "${meta.tags}", RTarget: "a,b", Operand: "set_contains"}},
		{`distinct_hosts = true`, structs.Constraint{Operand: "distinct_hosts", RTarget: "true"}},
		{`distinct_property = "${meta.rack}"
value = "2"`, structs.Constraint{LTarget: "${meta.rack}", RTarget: "2", Operand: "distinct_property"}},
		{`attribute = "${meta.x}"
operator = "is_set"`, structs.Constraint{LTarget: "${meta.x}", Operand: "is_set"}},
	}
	for _, tc := range tests {
		t.Run(tc.body, func(t *testing.T) {
			job := mustParse(t, "job \"c\" {\n constraint {\n"+tc.body+"\n }\n}", nil)
			if got := *job.Constraints[0]; got != tc.want {
				t.Errorf("Parse(constraint {%s}) = %+v, want %+v", tc.body, got, tc.want)
			}
		})
	}
}

func TestParseTaskConfigShape(t *testing.T) {
	job := mustParse(t, `job "c" {
  group "g" {
    task "t" {
      driver = "docker"
      config {
        image = "redis:7"
        ports = ["db"]
        labels = { a = "b" }
        port_map {
          db = 6379
        }
        mount "volume" {
          target = "/data"
        }
        ratio = 0.5
      }
    }
  }
}`, nil)
	want := map[string]interface{}{
		"image":    "redis:7",
		"ports":    []interface{}{"db"},
		"labels":   []interface{}{map[string]interface{}{"a": "b"}},
		"port_map": []interface{}{map[string]interface{}{"db": 6379}},
		"mount":    []interface{}{map[string]interface{}{"volume": []interface{}{map[string]interface{}{"target": "/data"}}}},
		"ratio":    0.5,
	}
	if got := firstTask(job).Config; !reflect.DeepEqual(got, want) {
		t.Errorf("Parse().Config = %#v, want %#v", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		args []string
		want string
	}{
		{"unknown attribute with suggestion", "job \"e\" {\n  group \"g\" {\n    cout = 1\n  }\n}", nil, `job.hcl:3:5: Unsupported argument: An argument named "cout" is not expected here. Did you mean "count"?`},
		{"unknown block", "job \"e\" {\n  gruop \"g\" {}\n}", nil, `job.hcl:2:3: Unsupported block type: Blocks of type "gruop" are not expected here. Did you mean "group"?`},
		{"unset variable", "variable \"x\" {\n  type = string\n}\njob \"e\" { region = var.x }", nil, `job.hcl:1:1: Unset variable "x"`},
		{"undeclared variable reference", "job \"e\" {\n  region = var.nope\n}", nil, `job.hcl:2:15: Unsupported attribute`},
		{"undefined -var", `job "e" {}`, []string{"nope=1"}, `Undefined variable`},
		{"failed validation", "variable \"x\" {\n  default = \"abc\"\n  validation {\n    condition = var.x == \"ok\"\n    error_message = \"x must be ok\"\n  }\n}\njob \"e\" {}", nil, `job.hcl:4:17: Invalid value for variable: x must be ok`},
		{"wrong type", "job \"e\" {\n  group \"g\" {\n    count = \"many\"\n  }\n}", nil, `job.hcl:3:13: Incorrect attribute value type`},
		{"fractional count", "job \"e\" {\n  group \"g\" {\n    count = 1.5\n  }\n}", nil, `job.hcl:3:13: Invalid number`},
		{"bad duration", "job \"e\" {\n  group \"g\" {\n    shutdown_delay = \"5 parsecs\"\n  }\n}", nil, `job.hcl:3:22: Invalid duration`},
		{"missing job", `variable "x" { default = 1 }`, nil, `job.hcl:1:1: Missing job block`},
		{"two jobs", "job \"a\" {}\njob \"b\" {}", nil, `job.hcl:2:1: Duplicate job block`},
		{"duplicate resources", "job \"e\" {\n  group \"g\" {\n    task \"t\" {\n      resources {}\n      resources {}\n    }\n  }\n}", nil, `job.hcl:5:7: Duplicate resources block`},
		{"env attribute and block", "job \"e\" {\n  group \"g\" {\n    task \"t\" {\n      env = { A = \"1\" }\n      env { B = \"2\" }\n    }\n  }\n}", nil, `job.hcl:5:7: Duplicate env block`},
		{"filesystem disabled", "job \"e\" {\n  region = file(\"x\")\n}", nil, `filesystem function disabled`},
		{"syntax error", "job \"e\" {\n  region = \n}", nil, `job.hcl:2:12:`},
		{"locals cycle", "locals {\n  a = local.b\n  b = local.a\n}\njob \"e\" {}", nil, `Cycle in locals`},
		{"too deep", "job \"e\" { region = " + strings.Repeat("[", 300) + " }", nil, `Nesting too deep`},
		{"too many iterations", "job \"e\" {\n  region = length([for a in range(1000) : [for b in range(1000) : [for c in range(1000) : c]]])\n}", nil, `Too many iterations`},
		{"huge format width", "job \"e\" {\n  region = format(\"%099999999d\", 1)\n}", nil, `format width`},
		{"bcrypt cost", "job \"e\" {\n  region = bcrypt(\"x\", 31)\n}", nil, `bcrypt cost above 12`},
		{"json nesting", `{"job": {"e": {"region": "${length([for a in range(9) : [for b in range(9) : [for c in range(9) : c]]])}"}}}`, nil, `job.hcl:1:1: Nesting too deep`},
		{"json syntax", "{\"job\": {\"e\": {\"region\": }}}", nil, `job.hcl:1:`},
		{"wide list", "job \"e\" {\n  datacenters = [" + strings.Repeat(`"a",`, 5000) + "]\n}", nil, `job.hcl:2:17: Incorrect attribute value type: Inappropriate value for attribute "datacenters": a collection of 5000 elements is too large`},
		{"too many groups", "job \"e\" {\n  dynamic \"group\" {\n    for_each = range(1001)\n    labels = [group.key]\n    content {}\n  }\n}", nil, `job.hcl:2:3: Too many groups`},
		{"scaling label", "job \"e\" {\n  group \"g\" {\n    task \"t\" {\n      scaling \"disk\" {\n        max = 1\n      }\n    }\n  }\n}", nil, `job.hcl:4:15: Invalid scaling policy name`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseSrc(t, tc.src, func(c *ParseConfig) { c.ArgVars = tc.args })
			if err == nil {
				t.Fatalf("Parse(%s) error = nil, want %q", tc.name, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%s) error = %q, want it to contain %q", tc.name, err, tc.want)
			}
		})
	}
}

func TestParseTooLarge(t *testing.T) {
	big := make([]byte, maxFileSize+1)
	for i := range big {
		big[i] = '#'
	}
	_, err := Parse(&ParseConfig{Path: "big.hcl", Body: big})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("Parse(1 MiB + 1) error = %v, want %v", err, ErrTooLarge)
	}
}

func TestParseReadsPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.hcl")
	if err := os.WriteFile(path, []byte(`job "p" {}`), 0o644); err != nil {
		t.Fatal(err)
	}
	job, err := Parse(&ParseConfig{Path: path})
	if err != nil {
		t.Fatalf("Parse(%s) error = %v", path, err)
	}
	if job.ID != "p" {
		t.Errorf("Parse(%s).ID = %q, want %q", path, job.ID, "p")
	}
}

func TestParseJSON(t *testing.T) {
	job := mustParse(t, `{
  "variable": { "image": { "default": "redis:7" } },
  "job": {
    "cache": {
      "datacenters": ["dc1"],
      "meta": { "team": "db" },
      "group": {
        "cache": {
          "count": 2,
          "task": {
            "redis": {
              "driver": "docker",
              "env": { "HOST": "${attr.unique.hostname}" },
              "config": { "image": "${var.image}", "ports": ["db"] },
              "resources": { "cpu": 200, "memory": 128 }
            }
          }
        }
      }
    }
  }
}`, nil)
	task := firstTask(job)
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"id", job.ID, "cache"},
		{"meta", job.Meta["team"], "db"},
		{"count", job.TaskGroups[0].Count, 2},
		{"image", task.Config["image"], "redis:7"},
		{"runtime reference", task.Env["HOST"], "${attr.unique.hostname}"},
		{"memory", task.Resources.MemoryMB, 128},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("Parse(json) %s = %v, want %v", tc.name, tc.got, tc.want)
			}
		})
	}
}
