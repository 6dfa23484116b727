package jobspec

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// rawBody wraps a native-syntax body so that a block whose contents have no
// fixed schema (a task's config, a scaling policy, ...) can be read as plain
// attributes: a nested block becomes an attribute holding a list of objects,
// and a labelled block becomes {label = [object]}, the shape Nomad gives
// driver configuration. Bodies with a schema are decoded as usual.
type rawBody struct {
	body   *hclsyntax.Body
	hidden map[string]bool
}

var _ hcl.Body = (*rawBody)(nil)

func wrapBody(b hcl.Body) hcl.Body {
	if sb, ok := b.(*hclsyntax.Body); ok {
		return &rawBody{body: sb}
	}
	return b
}

func wrapBlocks(blocks hcl.Blocks) hcl.Blocks {
	out := make(hcl.Blocks, len(blocks))
	for i, b := range blocks {
		nb := *b
		nb.Body = wrapBody(b.Body)
		out[i] = &nb
	}
	return out
}

// genericType marks a schema that asks for every attribute of a body with
// nested blocks folded into attributes (see decoder.bodyAttrs).
const genericType = "\x00generic"

func (r *rawBody) generic(schema *hcl.BodySchema) bool {
	for _, b := range schema.Blocks {
		if b.Type == genericType {
			return true
		}
	}
	return false
}

func (r *rawBody) Content(schema *hcl.BodySchema) (*hcl.BodyContent, hcl.Diagnostics) {
	if r.generic(schema) {
		attrs, diags := r.JustAttributes()
		return &hcl.BodyContent{Attributes: attrs, MissingItemRange: r.MissingItemRange()}, diags
	}
	c, diags := r.body.Content(schema)
	if c != nil {
		c.Blocks = wrapBlocks(c.Blocks)
	}
	return c, diags
}

func (r *rawBody) PartialContent(schema *hcl.BodySchema) (*hcl.BodyContent, hcl.Body, hcl.Diagnostics) {
	if r.generic(schema) {
		attrs, diags := r.JustAttributes()
		hidden := map[string]bool{}
		for name := range attrs {
			hidden[name] = true
		}
		return &hcl.BodyContent{Attributes: attrs, MissingItemRange: r.MissingItemRange()},
			&rawBody{body: r.body, hidden: hidden}, diags
	}
	c, remain, diags := r.body.PartialContent(schema)
	if c != nil {
		c.Blocks = wrapBlocks(c.Blocks)
	}
	hidden := make(map[string]bool, len(r.hidden)+len(schema.Attributes)+len(schema.Blocks))
	for k := range r.hidden {
		hidden[k] = true
	}
	for _, a := range schema.Attributes {
		hidden[a.Name] = true
	}
	for _, b := range schema.Blocks {
		hidden[b.Type] = true
	}
	out := &rawBody{body: r.body, hidden: hidden}
	if sb, ok := remain.(*hclsyntax.Body); ok {
		out.body = sb
	}
	return c, out, diags
}

// JustAttributes returns every attribute, and every group of same-type blocks
// as one attribute.
func (r *rawBody) JustAttributes() (hcl.Attributes, hcl.Diagnostics) {
	attrs := hcl.Attributes{}
	var diags hcl.Diagnostics
	for name, a := range r.body.Attributes {
		if r.hidden[name] {
			continue
		}
		ha := a.AsHCLAttribute()
		ha.Expr = wrapObject(a.Expr)
		attrs[name] = ha
	}
	byType := map[string]hclsyntax.Blocks{}
	var order []string
	for _, b := range r.body.Blocks {
		if r.hidden[b.Type] {
			continue
		}
		if _, ok := byType[b.Type]; !ok {
			order = append(order, b.Type)
		}
		byType[b.Type] = append(byType[b.Type], b)
	}
	for _, typ := range order {
		bs := byType[typ]
		if prev, dup := attrs[typ]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate definition",
				Detail:   "\"" + typ + "\" is defined both as an attribute (at " + prev.Range.String() + ") and as a block.",
				Subject:  bs[0].DefRange().Ptr(),
			})
			continue
		}
		attrs[typ] = &hcl.Attribute{
			Name:      typ,
			Expr:      &blocksExpr{blocks: bs},
			Range:     hcl.RangeBetween(bs[0].TypeRange, bs[len(bs)-1].CloseBraceRange),
			NameRange: bs[0].TypeRange,
		}
	}
	return attrs, diags
}

func (r *rawBody) MissingItemRange() hcl.Range { return r.body.MissingItemRange() }

// wrapObject makes an object-valued attribute a one-element list, as a
// block of the same name would be.
func wrapObject(e hclsyntax.Expression) hcl.Expression {
	if _, ok := e.(*hclsyntax.ObjectConsExpr); ok {
		return &listExpr{inner: e}
	}
	return e
}

type listExpr struct{ inner hcl.Expression }

func (l *listExpr) Value(ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	v, diags := l.inner.Value(ctx)
	return cty.TupleVal([]cty.Value{v}), diags
}
func (l *listExpr) Variables() []hcl.Traversal { return l.inner.Variables() }
func (l *listExpr) Range() hcl.Range           { return l.inner.Range() }
func (l *listExpr) StartRange() hcl.Range      { return l.inner.StartRange() }

// blocksExpr evaluates same-type blocks to a list of objects.
type blocksExpr struct {
	blocks hclsyntax.Blocks
}

func (e *blocksExpr) Value(ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	vals := make([]cty.Value, 0, len(e.blocks))
	for _, b := range e.blocks {
		v, d := blockValue(b, ctx)
		diags = append(diags, d...)
		vals = append(vals, v)
	}
	return cty.TupleVal(vals), diags
}

func blockValue(b *hclsyntax.Block, ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	r := &rawBody{body: b.Body}
	attrs, diags := r.JustAttributes()
	obj := make(map[string]cty.Value, len(attrs))
	for name, a := range attrs {
		v, d := a.Expr.Value(ctx)
		diags = append(diags, d...)
		obj[name] = v
	}
	v := cty.ObjectVal(obj)
	for i := len(b.Labels) - 1; i >= 0; i-- {
		v = cty.ObjectVal(map[string]cty.Value{b.Labels[i]: cty.TupleVal([]cty.Value{v})})
	}
	return v, diags
}

func (e *blocksExpr) Variables() []hcl.Traversal {
	var out []hcl.Traversal
	for _, b := range e.blocks {
		out = append(out, bodyVariables(b.Body)...)
	}
	return out
}

func (e *blocksExpr) Range() hcl.Range {
	return hcl.RangeBetween(e.blocks[0].OpenBraceRange, e.blocks[len(e.blocks)-1].CloseBraceRange)
}

func (e *blocksExpr) StartRange() hcl.Range { return e.blocks[0].OpenBraceRange }

func bodyVariables(b *hclsyntax.Body) []hcl.Traversal {
	var out []hcl.Traversal
	for _, a := range b.Attributes {
		out = append(out, hclsyntax.Variables(a.Expr)...)
	}
	for _, nb := range b.Blocks {
		out = append(out, bodyVariables(nb.Body)...)
	}
	return out
}
