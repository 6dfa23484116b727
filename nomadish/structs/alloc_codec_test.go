package structs

import (
	"bytes"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadish/nomadish/nomadish/pool"
)

// fill sets every field reachable from v to a value that is not its zero,
// so an encoding that drops or renames a field shows up in a comparison.
func fill(v reflect.Value, depth int) {
	if depth > 8 {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("s" + v.Type().Name())
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Type() == reflect.TypeOf(time.Duration(0)) {
			v.SetInt(int64(3 * time.Second))
			return
		}
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(9)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(0.25)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fill(s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, depth+1)
		fill(e, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Interface:
		v.Set(reflect.ValueOf("any"))
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2026, 11, 27, 12, 0, 0, 5, time.UTC)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth+1)
			}
		}
	}
}

// reflectAlloc has Allocation's fields without its generated codec
// methods, so it encodes the way every allocation did before them.
type reflectAlloc Allocation

func encodeWith(t *testing.T, v interface{}) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := codec.NewEncoder(&buf, pool.MsgpackHandle).Encode(v); err != nil {
		t.Fatalf("encode %T: %v", v, err)
	}
	return buf.Bytes()
}

// The generated encoder writes the same map of field names to values as
// the reflection encoder (in declaration order, where reflection sorts the
// names), and each decodes what the other wrote: Raft logs and snapshots
// written before the generated code still read, and older servers read
// what newer ones write.
func TestAllocationCodecMatchesReflection(t *testing.T) {
	var a Allocation
	fill(reflect.ValueOf(&a).Elem(), 0)
	a.Job = &Job{ID: "web", Namespace: "default", Type: JobTypeService}

	generated := encodeWith(t, &a)
	reflected := encodeWith(t, (*reflectAlloc)(&a))
	if len(generated) != len(reflected) {
		t.Fatalf("generated encoding has %d bytes, the reflection encoding %d: a field of alloc.go is missing from alloc_codec.generated.go; run make codecgen", len(generated), len(reflected))
	}

	var viaGenerated Allocation
	if err := codec.NewDecoderBytes(reflected, pool.MsgpackHandle).Decode(&viaGenerated); err != nil {
		t.Fatalf("generated decode: %v", err)
	}
	var viaReflection reflectAlloc
	if err := codec.NewDecoderBytes(generated, pool.MsgpackHandle).Decode(&viaReflection); err != nil {
		t.Fatalf("reflection decode: %v", err)
	}
	if !reflect.DeepEqual(&viaGenerated, &a) {
		t.Errorf("generated decode lost or changed fields (run make codecgen after changing alloc.go):\n got %+v\nwant %+v", viaGenerated, a)
	}
	if !reflect.DeepEqual((*Allocation)(&viaReflection), &a) {
		t.Errorf("reflection decode of the generated encoding lost or changed fields")
	}
	if viaGenerated.AllocatedResources == nil || len(viaGenerated.AllocatedResources.Tasks) != 1 || len(viaGenerated.TaskStates) != 1 ||
		viaGenerated.Metrics == nil || len(viaGenerated.Metrics.ScoreMetaData) != 2 {
		t.Fatalf("the filled allocation is missing nested values: %+v", viaGenerated)
	}
}

// A nil allocation and one with only a few fields set round-trip too.
func TestAllocationCodecSparse(t *testing.T) {
	for _, a := range []*Allocation{{}, {ID: "a", ClientStatus: AllocClientStatusRunning, TaskStates: map[string]*TaskState{"t": nil}}} {
		var back Allocation
		if err := codec.NewDecoderBytes(encodeWith(t, a), pool.MsgpackHandle).Decode(&back); err != nil || !reflect.DeepEqual(&back, a) {
			t.Errorf("round trip of %+v = %+v, %v", a, back, err)
		}
		var old reflectAlloc
		if err := codec.NewDecoderBytes(encodeWith(t, a), pool.MsgpackHandle).Decode(&old); err != nil || !reflect.DeepEqual((*Allocation)(&old), a) {
			t.Errorf("reflection decode of %+v = %+v, %v", a, old, err)
		}
	}
}

// BenchmarkAllocationDecode decodes one allocation with every field set,
// as the FSM does for each placement of a plan.
func BenchmarkAllocationDecode(b *testing.B) {
	var a Allocation
	fill(reflect.ValueOf(&a).Elem(), 0)
	var buf bytes.Buffer
	if err := codec.NewEncoder(&buf, pool.MsgpackHandle).Encode(&a); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	dec := codec.NewDecoderBytes(nil, pool.MsgpackHandle)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var out Allocation
		dec.ResetBytes(data)
		if err := dec.Decode(&out); err != nil {
			b.Fatal(err)
		}
	}
}

// Decoded score names are the package's constants, not copies; other map
// keys decode as they were.
func TestAllocationDecodeInternsScoreNames(t *testing.T) {
	a := &Allocation{ID: "a", Metrics: &AllocMetric{
		NodesAvailable: map[string]int{"dc1": 3},
		ScoreMetaData: []*NodeScoreMeta{{NodeID: "n1", Scores: map[string]float64{
			ScoreBinpack: 0.5, ScoreJobAntiAffinity: -1, ScoreNodeAffinity: 0, ScoreAllocationSpread: 0.25, "custom": 2,
		}}},
	}}
	var back Allocation
	if err := codec.NewDecoderBytes(encodeWith(t, a), pool.MsgpackHandle).Decode(&back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, a) {
		t.Fatalf("round trip = %+v, want %+v", back, a)
	}
	for k := range back.Metrics.ScoreMetaData[0].Scores {
		constant := internMapKey([]byte(k))
		if k != "custom" && unsafe.StringData(k) != unsafe.StringData(constant) {
			t.Errorf("score name %q decoded as a copy, not the constant", k)
		}
	}
}

// A client's Node.UpdateAlloc request, whole allocations with every field
// set, decodes on the server as the reports those allocations make: the
// report fields come through, the rest is skipped.
func TestAllocUpdateRequestDecodesAsReports(t *testing.T) {
	var full Allocation
	fill(reflect.ValueOf(&full).Elem(), 0)
	full.Job = &Job{ID: "web", Namespace: "default", Type: JobTypeService}
	sparse := &Allocation{ID: "b", NodeID: "n1", ClientStatus: AllocClientStatusRunning}
	req := &AllocUpdateRequest{
		Alloc:        []*Allocation{&full, sparse},
		Evals:        []*Evaluation{{ID: "e1", JobID: "web"}},
		WriteRequest: WriteRequest{Region: "global"},
	}
	var got AllocReportRequest
	if err := codec.NewDecoderBytes(encodeWith(t, req), pool.MsgpackHandle).Decode(&got); err != nil {
		t.Fatalf("decode as reports: %v", err)
	}
	want := []AllocClientStatus{ClientStatusOf(&full), ClientStatusOf(sparse)}
	if !reflect.DeepEqual(got.Alloc, want) {
		t.Errorf("reports = %+v\nwant %+v", got.Alloc, want)
	}
	if len(got.Evals) != 1 || got.Evals[0].ID != "e1" || got.Region != "global" {
		t.Errorf("evals %+v, region %q: want e1 and global", got.Evals, got.Region)
	}
	if want[0].TaskStates == nil || want[0].DeploymentStatus == nil || want[0].NetworkStatus == nil || want[0].ModifyTime == 0 {
		t.Fatalf("the filled allocation's report misses fields: %+v", want[0])
	}
}

// Decoded statuses are the package's constants; unknown ones decode as
// they were.
func TestAllocationDecodeInternsStatuses(t *testing.T) {
	for _, st := range []string{AllocClientStatusRunning, AllocClientStatusFailed, "odd"} {
		a := &Allocation{ID: "a", ClientStatus: st, DesiredStatus: AllocDesiredStatusStop}
		var back Allocation
		if err := codec.NewDecoderBytes(encodeWith(t, a), pool.MsgpackHandle).Decode(&back); err != nil {
			t.Fatal(err)
		}
		var rep AllocReportRequest
		if err := codec.NewDecoderBytes(encodeWith(t, &AllocUpdateRequest{Alloc: []*Allocation{a}}), pool.MsgpackHandle).Decode(&rep); err != nil {
			t.Fatal(err)
		}
		if back.ClientStatus != st || rep.Alloc[0].ClientStatus != st || back.DesiredStatus != AllocDesiredStatusStop {
			t.Fatalf("decoded %q/%q, %q; want %q", back.ClientStatus, rep.Alloc[0].ClientStatus, back.DesiredStatus, st)
		}
		interned := unsafe.StringData(back.ClientStatus) == unsafe.StringData(st) &&
			unsafe.StringData(rep.Alloc[0].ClientStatus) == unsafe.StringData(st)
		if want := st != "odd"; interned != want {
			t.Errorf("status %q shares the constant's bytes = %v, want %v", st, interned, want)
		}
		if unsafe.StringData(back.DesiredStatus) != unsafe.StringData(AllocDesiredStatusStop) {
			t.Errorf("desired status is a copy, want the constant")
		}
	}
}
