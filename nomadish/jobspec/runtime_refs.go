package jobspec

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Job files refer to values only known on the client at run time, such as
// ${node.unique.name}, ${attr.kernel.name}, ${meta.rack} or
// ${NOMAD_ALLOC_INDEX}. Any reference whose root is not var or local is kept
// as its own text wrapped in ${...}, for the client to interpolate later.
//
// runtimeRefs finds every such reference in the file and builds, for each
// root name, a value whose attributes lead to those strings: attr.kernel.name
// evaluates to "${attr.kernel.name}". Iteration variables of for expressions
// and dynamic blocks live in child scopes and so take precedence.
func runtimeRefs(body *hclsyntax.Body, src []byte) map[string]cty.Value {
	root := &refNode{}
	hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		st, ok := n.(*hclsyntax.ScopeTraversalExpr)
		if !ok {
			return nil
		}
		switch st.Traversal.RootName() {
		case "var", "local":
			return nil
		}
		root.add(st.Traversal, src)
		return nil
	})
	out := make(map[string]cty.Value, len(root.children))
	for name, c := range root.children {
		out[name] = c.value()
	}
	return out
}

// maxRefDepth bounds the depth of the placeholder values.
const maxRefDepth = 32

type refNode struct {
	text     string
	children map[string]*refNode
}

func (r *refNode) add(t hcl.Traversal, src []byte) {
	cur := r
	start := t.SourceRange().Start.Byte
	for i, step := range t {
		if i >= maxRefDepth {
			return
		}
		var name string
		switch s := step.(type) {
		case hcl.TraverseRoot:
			name = s.Name
		case hcl.TraverseAttr:
			name = s.Name
		case hcl.TraverseIndex:
			if s.Key.Type() != cty.String || !s.Key.IsKnown() || s.Key.IsNull() {
				return
			}
			name = s.Key.AsString()
		default:
			return
		}
		if cur.children == nil {
			cur.children = map[string]*refNode{}
		}
		next, ok := cur.children[name]
		if !ok {
			next = &refNode{}
			cur.children[name] = next
		}
		cur = next
		end := step.SourceRange().End.Byte
		if start >= 0 && end <= len(src) && start <= end {
			cur.text = "${" + string(src[start:end]) + "}"
		}
	}
}

func (r *refNode) value() cty.Value {
	if len(r.children) == 0 {
		return cty.StringVal(r.text)
	}
	attrs := make(map[string]cty.Value, len(r.children))
	for k, c := range r.children {
		attrs[k] = c.value()
	}
	return cty.ObjectVal(attrs)
}
