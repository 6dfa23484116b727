package jobspec

import (
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// spec describes the attributes and blocks one kind of block may hold.
type spec struct {
	attrs  []string
	blocks []hcl.BlockHeaderSchema
	schema *hcl.BodySchema
}

// newSpec builds a spec from space-separated attribute names and block names;
// a block name written "type:label" takes one label.
func newSpec(attrs, blocks string) *spec {
	s := &spec{attrs: strings.Fields(attrs)}
	for _, b := range strings.Fields(blocks) {
		typ, label, ok := strings.Cut(b, ":")
		h := hcl.BlockHeaderSchema{Type: typ}
		if ok {
			h.LabelNames = []string{label}
		}
		s.blocks = append(s.blocks, h)
	}
	s.schema = &hcl.BodySchema{Blocks: s.blocks}
	for _, a := range s.attrs {
		s.schema.Attributes = append(s.schema.Attributes, hcl.AttributeSchema{Name: a})
	}
	return s
}

// node is the decoded content of one block: its attributes, yet to be
// evaluated, and its child blocks.
type node struct {
	d      *decoder
	block  *hcl.Block
	attrs  hcl.Attributes
	blocks hcl.Blocks
	rng    hcl.Range
}

// decoder evaluates expressions and collects diagnostics.
type decoder struct {
	ctx    *hcl.EvalContext
	diags  hcl.Diagnostics
	budget *budget

	// The job's type and its update, migrate and reschedule blocks, which
	// groups build on.
	jobType    string
	jobUpdate  *structs.UpdateStrategy
	jobMigrate *structs.MigrateStrategy
	jobResched *structs.ReschedulePolicy
}

func (d *decoder) errorf(rng *hcl.Range, summary, format string, args ...any) {
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  rng,
	})
}

// content decodes a block's body against s. Unknown attributes and blocks
// are reported by hcl with a "did you mean" suggestion.
func (d *decoder) content(b *hcl.Block, s *spec) *node {
	c, diags := b.Body.Content(s.schema)
	d.diags = append(d.diags, diags...)
	n := &node{d: d, block: b, rng: b.DefRange}
	if c != nil {
		n.attrs = c.Attributes
		n.blocks = c.Blocks
	}
	return n
}

// has reports whether the attribute is set.
func (n *node) has(name string) bool {
	_, ok := n.attrs[name]
	return ok
}

// value evaluates an attribute and converts it to typ. ok is false when the
// attribute is absent, null or wrong.
func (n *node) value(name string, typ cty.Type) (cty.Value, *hcl.Attribute, bool) {
	a, found := n.attrs[name]
	if !found {
		return cty.NilVal, nil, false
	}
	v, diags := a.Expr.Value(n.d.ctx)
	n.d.diags = append(n.d.diags, diags...)
	if diags.HasErrors() || v.IsNull() {
		return cty.NilVal, a, false
	}
	if !v.IsWhollyKnown() {
		n.d.errorf(a.Expr.Range().Ptr(), "Unknown value", "The value of %q is not known.", name)
		return cty.NilVal, a, false
	}
	v, _ = v.Unmark()
	cv, err := n.d.budget.convert(v, typ)
	if err != nil {
		n.d.errorf(a.Expr.Range().Ptr(), "Incorrect attribute value type",
			"Inappropriate value for attribute %q: %s.", name, err)
		return cty.NilVal, a, false
	}
	return cv, a, !cv.IsNull()
}

func (n *node) str(name string, dst *string) {
	if v, _, ok := n.value(name, cty.String); ok {
		*dst = v.AsString()
	}
}

func (n *node) boolean(name string, dst *bool) {
	if v, _, ok := n.value(name, cty.Bool); ok {
		*dst = v.True()
	}
}

func (n *node) boolPtr(name string) *bool {
	if v, _, ok := n.value(name, cty.Bool); ok {
		b := v.True()
		return &b
	}
	return nil
}

// integer reads a whole number within [min, max].
func (n *node) integer(name string, min, max int64) (int64, bool) {
	v, a, ok := n.value(name, cty.Number)
	if !ok {
		return 0, false
	}
	bf := v.AsBigFloat()
	i, acc := bf.Int64()
	if acc != big.Exact || !bf.IsInt() {
		n.d.errorf(a.Expr.Range().Ptr(), "Invalid number", "%q must be a whole number.", name)
		return 0, false
	}
	if i < min || i > max {
		n.d.errorf(a.Expr.Range().Ptr(), "Number out of range", "%q must be between %d and %d.", name, min, max)
		return 0, false
	}
	return i, true
}

const maxInt32 = 1<<31 - 1

func (n *node) int(name string, dst *int) {
	if i, ok := n.integer(name, -maxInt32, maxInt32); ok {
		*dst = int(i)
	}
}

func (n *node) intPtr(name string) *int {
	if i, ok := n.integer(name, -maxInt32, maxInt32); ok {
		v := int(i)
		return &v
	}
	return nil
}

func (n *node) int64(name string, dst *int64) {
	if i, ok := n.integer(name, -1<<62, 1<<62); ok {
		*dst = i
	}
}

func (n *node) uint64(name string, dst *uint64) {
	if i, ok := n.integer(name, 0, 1<<62); ok {
		*dst = uint64(i)
	}
}

// duration reads "30s"-style strings, or a number of nanoseconds.
func (n *node) durationPtr(name string) *time.Duration {
	a, found := n.attrs[name]
	if !found {
		return nil
	}
	v, diags := a.Expr.Value(n.d.ctx)
	n.d.diags = append(n.d.diags, diags...)
	if diags.HasErrors() || v.IsNull() || !v.IsWhollyKnown() {
		return nil
	}
	v, _ = v.Unmark()
	switch v.Type() {
	case cty.String:
		dur, err := time.ParseDuration(v.AsString())
		if err != nil {
			n.d.errorf(a.Expr.Range().Ptr(), "Invalid duration", "Unsuitable duration value for %q: %s.", name, err)
			return nil
		}
		return &dur
	case cty.Number:
		i, acc := v.AsBigFloat().Int64()
		if acc != big.Exact {
			n.d.errorf(a.Expr.Range().Ptr(), "Invalid duration", "%q must be a whole number of nanoseconds.", name)
			return nil
		}
		dur := time.Duration(i)
		return &dur
	}
	n.d.errorf(a.Expr.Range().Ptr(), "Invalid duration", "%q must be a duration string such as \"30s\", not %s.", name, v.Type().FriendlyName())
	return nil
}

func (n *node) duration(name string, dst *time.Duration) {
	if p := n.durationPtr(name); p != nil {
		*dst = *p
	}
}

func (n *node) strs(name string, dst *[]string) {
	v, _, ok := n.value(name, cty.List(cty.String))
	if !ok {
		return
	}
	out := make([]string, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			continue
		}
		out = append(out, e.AsString())
	}
	*dst = out
}

// strMapValue converts a value to map[string]string.
func (d *decoder) strMapValue(v cty.Value, rng hcl.Range, name string) map[string]string {
	cv, err := d.budget.convert(v, cty.Map(cty.String))
	if err != nil {
		d.errorf(rng.Ptr(), "Incorrect attribute value type", "Inappropriate value for %q: %s.", name, err)
		return nil
	}
	out := map[string]string{}
	if cv.IsNull() {
		return out
	}
	for it := cv.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if e.IsNull() {
			out[k.AsString()] = ""
			continue
		}
		out[k.AsString()] = e.AsString()
	}
	return out
}

// strMap reads a map of strings written either as an attribute
// (`meta = { ... }`) or as a block (`meta { ... }`), not both.
func (n *node) strMap(name string) map[string]string {
	a, hasAttr := n.attrs[name]
	blocks := n.all(name)
	if hasAttr && len(blocks) > 0 {
		n.d.errorf(blocks[0].DefRange.Ptr(), fmt.Sprintf("Duplicate %s block", name),
			"%s may not be defined more than once. Another definition is at %s.", name, a.Range)
		return nil
	}
	if hasAttr {
		v, diags := a.Expr.Value(n.d.ctx)
		n.d.diags = append(n.d.diags, diags...)
		if diags.HasErrors() || !v.IsWhollyKnown() {
			return nil
		}
		v, _ = v.UnmarkDeep()
		return n.d.strMapValue(v, a.Expr.Range(), name)
	}
	if len(blocks) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, b := range blocks {
		for k, a := range n.d.bodyAttrs(b.Body) {
			v, diags := a.Expr.Value(n.d.ctx)
			n.d.diags = append(n.d.diags, diags...)
			if diags.HasErrors() || !v.IsWhollyKnown() {
				continue
			}
			v, _ = v.UnmarkDeep()
			if v.IsNull() {
				out[k] = ""
				continue
			}
			s, err := convert.Convert(v, cty.String)
			if err != nil {
				n.d.errorf(a.Expr.Range().Ptr(), "Incorrect attribute value type", "Inappropriate value for %q: %s.", k, err)
				continue
			}
			out[k] = s.AsString()
		}
	}
	return out
}

// all returns the child blocks of one type.
func (n *node) all(typ string) []*hcl.Block {
	var out []*hcl.Block
	for _, b := range n.blocks {
		if b.Type == typ {
			out = append(out, b)
		}
	}
	return out
}

// one returns the single child block of a type, or nil; a second one is an error.
func (n *node) one(typ string) *hcl.Block {
	bs := n.all(typ)
	if len(bs) == 0 {
		return nil
	}
	for _, b := range bs[1:] {
		n.d.errorf(b.DefRange.Ptr(), fmt.Sprintf("Duplicate %s block", typ),
			"Only one %s block is allowed here. Another was defined at %s.", typ, bs[0].DefRange)
	}
	return bs[0]
}

// label returns the block's first label, or "".
func label(b *hcl.Block) string {
	if len(b.Labels) == 0 {
		return ""
	}
	return b.Labels[0]
}

// bodyAttrs returns every attribute of a body without a fixed schema, nested
// blocks folded into attributes. Going through Content keeps the iteration
// variables of dynamic blocks in scope.
func (d *decoder) bodyAttrs(body hcl.Body) hcl.Attributes {
	attrs, diags := body.JustAttributes()
	d.diags = append(d.diags, diags...)
	if len(attrs) == 0 {
		return attrs
	}
	schema := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: genericType}}}
	for name := range attrs {
		schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: name})
	}
	c, diags := body.Content(schema)
	d.diags = append(d.diags, diags...)
	if c == nil {
		return attrs
	}
	return c.Attributes
}

// anyMap evaluates a body without a fixed schema to a Go map, as a task's
// driver config.
func (d *decoder) anyMap(body hcl.Body) map[string]interface{} {
	out := map[string]interface{}{}
	for name, a := range d.bodyAttrs(body) {
		v, diags := a.Expr.Value(d.ctx)
		d.diags = append(d.diags, diags...)
		if diags.HasErrors() {
			continue
		}
		if !v.IsWhollyKnown() {
			d.errorf(a.Expr.Range().Ptr(), "Unknown value", "The value of %q is not known.", name)
			continue
		}
		v, _ = v.UnmarkDeep()
		out[name] = goValue(v)
	}
	return out
}

// goValue converts a known cty value to plain Go values.
func goValue(v cty.Value) interface{} {
	if v.IsNull() {
		return nil
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString()
	case t == cty.Bool:
		return v.True()
	case t == cty.Number:
		bf := v.AsBigFloat()
		if bf.IsInt() {
			if i, acc := bf.Int64(); acc == big.Exact {
				return int(i)
			}
		}
		f, _ := bf.Float64()
		return f
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		out := make([]interface{}, 0, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, goValue(e))
		}
		return out
	case t.IsMapType() || t.IsObjectType():
		out := make(map[string]interface{}, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = goValue(e)
		}
		return out
	}
	return nil
}

// labelRange is where the block's first label is, or the block itself.
func labelRange(b *hcl.Block) *hcl.Range {
	if len(b.LabelRanges) > 0 {
		return b.LabelRanges[0].Ptr()
	}
	return b.DefRange.Ptr()
}
