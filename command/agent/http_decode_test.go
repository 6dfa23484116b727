package agent

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	nomadapi "github.com/hashicorp/nomad/api"

	ourapi "github.com/nomadish/nomadish/nomadish/api"
	"github.com/nomadish/nomadish/nomadish/server"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// fillAll sets every exported field reachable from v to a non-zero value:
// pointers are allocated, slices and maps get one element, so that the
// JSON of v holds every field Nomad's API client can send. A struct type
// already being filled higher up is left zero, which ends recursion.
func fillAll(v reflect.Value, onPath map[reflect.Type]bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if onPath[v.Type().Elem()] {
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		fillAll(v.Elem(), onPath)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Unix(1700000000, 0).UTC()))
			return
		}
		onPath[v.Type()] = true
		defer delete(onPath, v.Type())
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fillAll(v.Field(i), onPath)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fillAll(s.Index(0), onPath)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		fillAll(k, onPath)
		e := reflect.New(v.Type().Elem()).Elem()
		fillAll(e, onPath)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Interface:
		if v.NumMethod() == 0 {
			v.Set(reflect.ValueOf("x"))
		}
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	}
}

// nomadRequests pairs each request body Nomad's API client sends with the
// type the handler of its endpoint decodes it into.
var nomadRequests = []struct {
	name string
	api  any
	ours func() any
}{
	{"job register", &nomadapi.JobRegisterRequest{}, func() any { return &jobRegisterBody{} }},
	{"job plan", &nomadapi.JobPlanRequest{}, func() any { return &jobPlanBody{} }},
	{"job validate", &nomadapi.JobValidateRequest{}, func() any { return &jobValidateBody{} }},
	{"job evaluate", &nomadapi.JobEvaluateRequest{}, func() any { return &jobEvaluateBody{} }},
	{"job scale", &nomadapi.ScalingRequest{}, func() any { return &jobScaleBody{} }},
	{"job dispatch", &nomadapi.JobDispatchRequest{}, func() any { return &jobDispatchBody{} }},
	{"job revert", &nomadapi.JobRevertRequest{}, func() any { return &jobRevertBody{} }},
	{"jobs parse", &nomadapi.JobsParseRequest{}, func() any { return &jobsParseRequest{} }},
	{"alloc restart", &nomadapi.AllocationRestartRequest{}, func() any { return &allocRestartBody{} }},
	{"alloc signal", &nomadapi.AllocSignalRequest{}, func() any { return &allocSignalBody{} }},
	{"node drain", &nomadapi.NodeUpdateDrainRequest{}, func() any { return &nodeDrainBody{} }},
	{"node eligibility", &nomadapi.NodeUpdateEligibilityRequest{}, func() any { return &nodeEligibilityBody{} }},
	{"deployment promote", &nomadapi.DeploymentPromoteRequest{}, func() any { return &deploymentPromoteBody{} }},
	{"deployment fail", &nomadapi.DeploymentFailRequest{}, func() any { return &deploymentFailBody{} }},
	{"deployment pause", &nomadapi.DeploymentPauseRequest{}, func() any { return &deploymentPauseBody{} }},
	{"deployment alloc health", &nomadapi.DeploymentAllocHealthRequest{}, func() any { return &structs.DeploymentAllocHealthRequest{} }},
	{"operator scheduler config", &nomadapi.SchedulerConfiguration{}, func() any { return &structs.SchedulerConfiguration{} }},
	// nomadish's own client sends these.
	{"nomadish job register", &ourapi.JobRegisterRequest{}, func() any { return &jobRegisterBody{} }},
	{"nomadish job dispatch", &ourapi.JobDispatchRequest{}, func() any { return &jobDispatchBody{} }},
	{"nomadish job scale", &ourapi.ScalingRequest{}, func() any { return &jobScaleBody{} }},
	{"nomadish job revert", &ourapi.JobRevertRequest{}, func() any { return &jobRevertBody{} }},
}

// TestDecodeBody_NomadRequests fills every field of each request Nomad's
// API client sends and decodes it strictly into nomadish's type: every
// field must be known or listed as ignored.
func TestDecodeBody_NomadRequests(t *testing.T) {
	for _, tc := range nomadRequests {
		t.Run(tc.name, func(t *testing.T) {
			v := reflect.ValueOf(tc.api)
			fillAll(v.Elem(), map[reflect.Type]bool{})
			body, err := json.Marshal(tc.api)
			if err != nil {
				t.Fatalf("marshal %T: %v", tc.api, err)
			}
			if err := decodeJSONStrict(body, tc.ours()); err != nil {
				t.Errorf("decode %T into %T = %v, want no error", tc.api, tc.ours(), err)
			}
		})
	}
}

// TestDecodeBody_FillReachesEveryField makes sure the test above can
// fail: the filled request carries fields deep in the job, and a type
// that lacks one of them is refused.
func TestDecodeBody_FillReachesEveryField(t *testing.T) {
	req := &nomadapi.JobRegisterRequest{}
	fillAll(reflect.ValueOf(req).Elem(), map[reflect.Type]bool{})
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"Submission"`, `"ExtraClaims":["x"]`, `"CheckRestart"`, `"SecretID":"x"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("filled register request lacks %s", want)
		}
	}
	var narrow struct{ Job *structs.Job }
	err = decodeJSONStrict(body, &narrow)
	if err == nil || !strings.Contains(err.Error(), `unknown field "EnforceIndex"`) {
		t.Errorf("decode into a type with only Job = %v, want unknown field \"EnforceIndex\"", err)
	}
}

func TestDecodeBody_Errors(t *testing.T) {
	type inner struct {
		Count int8
		Tags  []string
		Meta  map[string]string
		Sub   *struct{ Name string }
	}
	type target struct {
		Job   *inner
		Items []inner
		Data  []byte
		Raw   json.RawMessage
		Any   interface{}
		structs.WriteRequest
	}
	tests := []struct {
		name string
		body string
		want string // substring of the error; "" for none
	}{
		{"ok", `{"Job": {"Count": 3, "Tags": ["a"], "Meta": {"k": "v"}, "Sub": {"Name": "n"}}, "Raw": {"any": [1]}, "Any": 1}`, ""},
		{"case-insensitive names", `{"job": {"count": 3}, "namespace": "default"}`, ""},
		{"null anywhere", `{"Job": null, "Items": [null], "Data": null}`, ""},
		{"ignored Nomad field", `{"SecretID": "s"}`, ""},
		{"unknown top-level", `{"Bogus": 1}`, `unknown field "Bogus"`},
		{"unknown nested", `{"Job": {"Bogus": 1}}`, `unknown field "Job.Bogus"`},
		{"unknown in slice", `{"Items": [{}, {"Sub": {"Nme": "x"}}]}`, `unknown field "Items[1].Sub.Nme"`},
		{"string for int", `{"Job": {"Count": "3"}}`, `field "Job.Count": cannot use string as int8`},
		{"int overflow", `{"Job": {"Count": 300}}`, `field "Job.Count": cannot use number 300 as int8`},
		{"fraction for int", `{"Items": [{"Count": 1.5}]}`, `field "Items[0].Count": cannot use number 1.5 as int8`},
		{"number for string", `{"Job": {"Tags": ["a", 2]}}`, `field "Job.Tags[1]": cannot use number as string`},
		{"object for slice", `{"Items": {}}`, `field "Items": cannot use object as []agent.inner`},
		{"map value", `{"Job": {"Meta": {"k": true}}}`, `field "Job.Meta.k": cannot use bool as string`},
		{"bytes need base64 text", `{"Data": [1, 2]}`, `field "Data": cannot use array as []uint8`},
		{"bad base64", `{"Data": "!!"}`, `illegal base64`},
		{"not an object", `[1]`, `cannot use array as agent.target`},
		{"empty", `  `, `missing request body`},
		{"syntax", `{"Job": `, `unexpected end of JSON input`},
		{"bad syntax", `{"Job" 1}`, `invalid JSON at offset`},
		{"trailing data", `{} {}`, `unexpected data after the JSON value`},
		{"every problem named", `{"A": 1, "B": 2, "Job": {"Count": "x"}}`, `field "Job.Count": cannot use string as int8; unknown field "A"; unknown field "B"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out target
			err := decodeJSONStrict([]byte(tc.body), &out)
			if tc.want == "" {
				if err != nil {
					t.Errorf("decode(%s) = %v, want no error", tc.body, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("decode(%s) = %v, want an error containing %q", tc.body, err, tc.want)
			}
			if code, _ := server.ErrorCode(err); code != 400 {
				t.Errorf("decode(%s) status = %d, want 400", tc.body, code)
			}
		})
	}
}

// TestHTTP_StrictBodies sends bad bodies to a real agent: each answer is
// the status a Nomad client expects, with the field path in the message.
func TestHTTP_StrictBodies(t *testing.T) {
	a := testServerAgent(t)
	tests := []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"unknown job field", "PUT", "/v1/jobs", `{"Job": {"ID": "strict", "Bogus": 1}}`, 400, `unknown field "Job.Bogus"`},
		{"unknown task field", "PUT", "/v1/jobs", `{"Job": {"ID": "strict", "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Drvier": "raw_exec"}]}]}}`, 400, `unknown field "Job.TaskGroups[0].Tasks[0].Drvier"`},
		{"wrong type", "PUT", "/v1/jobs", `{"Job": {"ID": "strict", "TaskGroups": [{"Name": "g", "Count": "two"}]}}`, 400, `field "Job.TaskGroups[0].Count": cannot use string as int`},
		{"plan", "PUT", "/v1/job/strict/plan", `{"Job": {"ID": "strict"}, "Dif": true}`, 400, `unknown field "Dif"`},
		{"validate", "PUT", "/v1/validate/job", `{"Job": {"ID": "strict", "Priority": "high"}}`, 400, `field "Job.Priority"`},
		{"scale", "PUT", "/v1/job/strict/scale", `{"Count": "3"}`, 400, `field "Count": cannot use string as int64`},
		{"dispatch", "PUT", "/v1/job/strict/dispatch", `{"Meta": {"a": 1}}`, 400, `field "Meta.a": cannot use number as string`},
		{"evaluate", "PUT", "/v1/job/strict/evaluate", `{"EvalOptions": {"ForceReschedul": true}}`, 400, `unknown field "EvalOptions.ForceReschedul"`},
		{"drain", "PUT", "/v1/node/abc/drain", `{"DrainSpec": {"Deadline": "1h"}}`, 400, `field "DrainSpec.Deadline"`},
		{"eligibility", "PUT", "/v1/node/abc/eligibility", `{"Eligible": true}`, 400, `unknown field "Eligible"`},
		{"promote", "PUT", "/v1/deployment/promote/abc", `{"Group": ["g"]}`, 400, `unknown field "Group"`},
		{"scheduler config", "PUT", "/v1/operator/scheduler/configuration", `{"SchedulerAlgorithm": 1}`, 400, `field "SchedulerAlgorithm"`},
		{"parse", "PUT", "/v1/jobs/parse", `{"JobHCL": "job \"a\" {}", "Vars": ""}`, 400, `unknown field "Vars"`},
		{"Nomad's ignored field", "PUT", "/v1/job/strict-missing/evaluate", `{"JobID": "strict-missing", "SecretID": ""}`, 404, `job not found`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := do(t, a, tc.method, tc.path, tc.body)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Errorf("%s %s %s = %d %q, want %d with %q", tc.method, tc.path, tc.body, code, body, tc.code, tc.want)
			}
		})
	}
}

func TestHTTP_BodyTooLarge(t *testing.T) {
	a := testServerAgent(t)
	big := `{"Job": {"ID": "big", "Meta": {"k": "` + strings.Repeat("x", maxRequestBody) + `"}}}`
	code, body := do(t, a, "PUT", "/v1/jobs", big)
	if code != 413 || !strings.Contains(body, "request body too large") {
		t.Errorf("PUT /v1/jobs with %d bytes = %d %.200s, want 413", len(big), code, body)
	}
}

// FuzzDecodeBody: any body decodes or is refused with 400, never a panic.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{`{"Job": {"ID": "x", "TaskGroups": [{"Count": 1, "Tasks": [{"Config": {"a": [1]}}]}]}}`, `{"Job": {"Bogus": 1}}`, `[]`, `{"Job": {"Priority": 1e999}}`, `{"Job": {"Payload": "AA=="}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var out jobRegisterBody
		err := decodeJSONStrict([]byte(body), &out)
		if err == nil {
			return
		}
		if code, _ := server.ErrorCode(err); code != 400 {
			t.Fatalf("decode(%q) = %v with status %d, want 400", body, err, code)
		}
	})
}
