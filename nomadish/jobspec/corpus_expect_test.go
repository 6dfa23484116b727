package jobspec

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// TestCorpusExpectations checks the values Nomad's own parser tests assert
// for the corpus files taken from them.
func TestCorpusExpectations(t *testing.T) {
	corpus := corpusDir(t)
	parse := func(t *testing.T, name string, edit func(*ParseConfig)) (*structs.Job, error) {
		t.Helper()
		cfg := &ParseConfig{Path: filepath.Join(corpus, "hashicorp+nomad", "jobspec2__parse_test.go__"+name+".hcl")}
		if edit != nil {
			edit(cfg)
		}
		return Parse(cfg)
	}

	tests := []struct {
		name string
		file string
		edit func(*ParseConfig)
		got  func(j *structs.Job) any
		want any
	}{
		{"dynamic group names", "TestParseDynamic", nil, func(j *structs.Job) any {
			var names []string
			for _, g := range j.TaskGroups {
				names = append(names, g.Name)
			}
			return names
		}, []string{"groupA", "groupB", "groupC"}},
		{"dynamic count", "TestParseDynamic", nil, func(j *structs.Job) any { return j.TaskGroups[2].Count }, 3},
		{"dynamic cpu", "TestParseDynamic", nil, func(j *structs.Job) any { return j.TaskGroups[1].Tasks[0].Resources.CPU }, 2},
		{"dynamic meta", "TestParseDynamic", nil, func(j *structs.Job) any { return j.TaskGroups[0].Tasks[0].Meta["VERSION"] }, "1"},
		{"dynamic env", "TestParseDynamic", nil, func(j *structs.Job) any { return j.TaskGroups[0].Tasks[0].Env["ID"] }, "id:1"},
		{"lookup prod dcs", "TestParseJob_JobWithFunctionsAndLookups", argVars("env=prod"), func(j *structs.Job) any { return j.Datacenters }, []string{"prod-dc1", "prod-dc2"}},
		{"lookup prod count", "TestParseJob_JobWithFunctionsAndLookups", argVars("env=prod"), func(j *structs.Job) any { return j.TaskGroups[0].Count }, 20},
		{"lookup unknown count", "TestParseJob_JobWithFunctionsAndLookups", argVars("env=unknown"), func(j *structs.Job) any { return j.TaskGroups[0].Count }, 0},
		{"lookup args", "TestParseJob_JobWithFunctionsAndLookups", argVars("env=staging"), func(j *structs.Job) any { return j.TaskGroups[0].Tasks[0].Config["args"] }, []interface{}{"-text", "Hello from staging"}},
		{"check method", "TestParseServiceCheck", nil, func(j *structs.Job) any { return j.TaskGroups[0].Services[0].Checks[0].Method }, "POST"},
		{"locals dcs", "TestParse_Locals", nil, func(j *structs.Job) any { return j.Datacenters }, []string{"local_dc"}},
		{"locals region", "TestParse_Locals", nil, func(j *structs.Job) any { return j.Region }, "default_region.example"},
		{"locals region set", "TestParse_Locals", argVars("region_var=set_region"), func(j *structs.Job) any { return j.Region }, "set_region.example"},
		{"meta job", "TestParse_Meta_Alternatives", nil, func(j *structs.Job) any { return j.Meta["source"] }, "job"},
		{"meta group", "TestParse_Meta_Alternatives", nil, func(j *structs.Job) any { return j.TaskGroups[0].Meta["source"] }, "group"},
		{"meta task", "TestParse_Meta_Alternatives", nil, func(j *structs.Job) any { return j.TaskGroups[0].Tasks[0].Meta["source"] }, "task"},
		{"undefined variables", "TestParse_UndefinedVariables__unquoted", nil, func(j *structs.Job) any { return j.Region }, "${meta.mytest}"},
		{"unknown variables known", "TestParse_UnknownVariables", argVars("region_var=aug"), func(j *structs.Job) any { return j.Meta["known_var"] }, "aug"},
		{"unknown variables unknown", "TestParse_UnknownVariables", argVars("region_var=aug"), func(j *structs.Job) any { return j.Meta["unknown_var"] }, "${UNKNOWN}"},
		{"defaults dc", "TestParse_VariablesDefaultsAndSet", nil, func(j *structs.Job) any { return j.Datacenters }, []string{"default_dc"}},
		{"defaults region", "TestParse_VariablesDefaultsAndSet", nil, func(j *structs.Job) any { return j.Region }, "default_region"},
		{"var file", "TestParse_VariablesDefaultsAndSet", func(c *ParseConfig) {
			c.VarFiles = []string{filepath.Join(corpus, "hashicorp+nomad", "jobspec2__parse_test.go__TestParse_VariablesDefaultsAndSet__varfile.vars.hcl")}
		}, func(j *structs.Job) any { return []string{j.Datacenters[0], j.Region} }, []string{"set_dc", "set_region"}},
		{"env var", "TestParse_VariablesDefaultsAndSet", func(c *ParseConfig) { c.Envs = []string{"NOMAD_VAR_region_var=env_region"} }, func(j *structs.Job) any { return j.Region }, "env_region"},
		{"vars and functions dcs", "TestParse_VarsAndFunctions", argVars("region_var=aug"), func(j *structs.Job) any { return j.Datacenters }, []string{"DC1", "DC2"}},
		{"vars and functions region", "TestParse_VarsAndFunctions", argVars("region_var=aug"), func(j *structs.Job) any { return j.Region }, "aug"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j, err := parse(t, tc.file, tc.edit)
			if err != nil {
				t.Fatalf("Parse(%s) error = %v", tc.file, err)
			}
			if got := tc.got(j); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%s) %s = %v, want %v", tc.file, tc.name, got, tc.want)
			}
		})
	}

	t.Run("constraint forms agree", func(t *testing.T) {
		ja, err := parse(t, "TestParse_Constraint_Alternatives__compact", nil)
		if err != nil {
			t.Fatal(err)
		}
		jb, err := parse(t, "TestParse_Constraint_Alternatives__opval", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ja.Constraints, jb.Constraints) || !reflect.DeepEqual(ja.TaskGroups[0].Constraints, jb.TaskGroups[0].Constraints) {
			t.Errorf("Parse(compact) constraints = %+v, want those of opval %+v", ja.Constraints, jb.Constraints)
		}
	})
	t.Run("unset variable is an error, not a panic", func(t *testing.T) {
		_, err := parse(t, "TestParseJob_JobWithFunctionsAndLookups", nil)
		if err == nil || !strings.Contains(err.Error(), `Unset variable "env"`) {
			t.Errorf("Parse(without -var env) error = %v, want Unset variable", err)
		}
	})
	t.Run("filesystem functions off", func(t *testing.T) {
		_, err := parse(t, "TestParse_FileOperators", nil)
		if err == nil || !strings.Contains(err.Error(), "filesystem function disabled") {
			t.Errorf("Parse(FileOperators, AllowFS=false) error = %v, want filesystem function disabled", err)
		}
	})
}

func argVars(vs ...string) func(*ParseConfig) {
	return func(c *ParseConfig) { c.ArgVars = vs }
}
