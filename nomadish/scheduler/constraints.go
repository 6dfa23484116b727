package scheduler

import (
	"regexp"
	"strconv"
	"strings"

	version "github.com/hashicorp/go-version"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// Constraint operands beyond the comparison operators.
const (
	ConstraintDistinctHosts    = "distinct_hosts"
	ConstraintDistinctProperty = "distinct_property"
	ConstraintRegex            = "regexp"
	ConstraintVersion          = "version"
	ConstraintSemver           = "semver"
	ConstraintSetContains      = "set_contains"
	ConstraintSetContainsAll   = "set_contains_all"
	ConstraintSetContainsAny   = "set_contains_any"
	ConstraintAttributeIsSet   = "is_set"
	ConstraintAttributeNotSet  = "is_not_set"
)

// resolveTarget returns the value a constraint target names on a node.
// Targets not in ${...} form are literals.
func resolveTarget(target string, n *structs.Node) (string, bool) {
	if !strings.HasPrefix(target, "${") || !strings.HasSuffix(target, "}") {
		return target, true
	}
	if n == nil {
		return "", false
	}
	name := target[2 : len(target)-1]
	switch name {
	case "node.unique.id":
		return n.ID, true
	case "node.datacenter":
		return n.Datacenter, true
	case "node.unique.name":
		return n.Name, true
	case "node.class":
		return n.NodeClass, true
	case "node.pool":
		if n.NodePool == "" {
			return structs.DefaultNodePool, true
		}
		return n.NodePool, true
	}
	if k, ok := strings.CutPrefix(name, "attr."); ok {
		v, ok := n.Attributes[k]
		return v, ok
	}
	if k, ok := strings.CutPrefix(name, "meta."); ok {
		v, ok := n.Meta[k]
		return v, ok
	}
	return "", false
}

// escapesClass reports whether a target reads something the computed class
// does not cover, so results cannot be cached per class.
func escapesClass(target string) bool {
	return strings.Contains(target, "unique.")
}

// constraintCache memoises parsed regexps and version constraints for one
// evaluation; a job reuses the same few strings on every node.
type constraintCache struct {
	regexps  map[string]*regexp.Regexp
	versions map[string]version.Constraints
	semvers  map[string][]semverCheck
}

// checkOperand applies an operand to resolved values.
func (cc *constraintCache) checkOperand(op, l, r string, lok, rok bool) bool {
	switch op {
	case "=", "==", "is":
		return lok && rok && l == r
	case "!=", "not":
		return !(lok && rok && l == r) && (lok || rok)
	case "<", "<=", ">", ">=":
		return lok && rok && checkOrder(op, l, r)
	case ConstraintAttributeIsSet:
		return lok
	case ConstraintAttributeNotSet:
		return !lok
	case ConstraintRegex:
		return lok && rok && cc.regexp(r) != nil && cc.regexp(r).MatchString(l)
	case ConstraintVersion:
		return lok && rok && cc.version(l, r)
	case ConstraintSemver:
		return lok && rok && cc.semver(l, r)
	case ConstraintSetContains, ConstraintSetContainsAll:
		return lok && rok && setContains(l, r, true)
	case ConstraintSetContainsAny:
		return lok && rok && setContains(l, r, false)
	}
	return false
}

// checkOrder compares numerically when both sides parse as numbers and
// lexically otherwise.
func checkOrder(op, l, r string) bool {
	var cmp int
	lf, lerr := strconv.ParseFloat(l, 64)
	rf, rerr := strconv.ParseFloat(r, 64)
	switch {
	case lerr == nil && rerr == nil:
		switch {
		case lf < rf:
			cmp = -1
		case lf > rf:
			cmp = 1
		}
	default:
		cmp = strings.Compare(l, r)
	}
	switch op {
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	case ">":
		return cmp > 0
	}
	return cmp >= 0
}

func (cc *constraintCache) regexp(expr string) *regexp.Regexp {
	if re, ok := cc.regexps[expr]; ok {
		return re
	}
	if cc.regexps == nil {
		cc.regexps = map[string]*regexp.Regexp{}
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		re = nil
	}
	cc.regexps[expr] = re
	return re
}

// version checks l against a go-version constraint such as ">= 1.2, < 2".
// Pre-releases only match constraints that name a pre-release.
func (cc *constraintCache) version(l, r string) bool {
	cs, ok := cc.versions[r]
	if !ok {
		if cc.versions == nil {
			cc.versions = map[string]version.Constraints{}
		}
		cs, _ = version.NewConstraint(r)
		cc.versions[r] = cs
	}
	if cs == nil {
		return false
	}
	v, err := version.NewVersion(l)
	if err != nil {
		return false
	}
	return cs.Check(v)
}

// semverCheck is one clause of a semver constraint.
type semverCheck struct {
	op string
	v  *version.Version
}

// semver checks l against comma-separated clauses compared by Semantic
// Versioning 2.0 precedence, pre-releases included; "~>" is not allowed.
func (cc *constraintCache) semver(l, r string) bool {
	checks, ok := cc.semvers[r]
	if !ok {
		if cc.semvers == nil {
			cc.semvers = map[string][]semverCheck{}
		}
		checks = parseSemverConstraint(r)
		cc.semvers[r] = checks
	}
	if checks == nil {
		return false
	}
	v, err := version.NewSemver(l)
	if err != nil {
		return false
	}
	for _, c := range checks {
		cmp := v.Compare(c.v)
		var ok bool
		switch c.op {
		case "=", "==", "":
			ok = cmp == 0
		case "!=":
			ok = cmp != 0
		case ">":
			ok = cmp > 0
		case ">=":
			ok = cmp >= 0
		case "<":
			ok = cmp < 0
		case "<=":
			ok = cmp <= 0
		}
		if !ok {
			return false
		}
	}
	return true
}

func parseSemverConstraint(s string) []semverCheck {
	var out []semverCheck
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		op := ""
		for _, cand := range []string{">=", "<=", "!=", "==", ">", "<", "="} {
			if strings.HasPrefix(part, cand) {
				op = cand
				break
			}
		}
		v, err := version.NewSemver(strings.TrimSpace(part[len(op):]))
		if err != nil {
			return nil
		}
		out = append(out, semverCheck{op: op, v: v})
	}
	return out
}

// setContains reports whether the comma list l holds all (or any) of the
// comma list r.
func setContains(l, r string, all bool) bool {
	have := map[string]struct{}{}
	for _, s := range strings.Split(l, ",") {
		have[strings.TrimSpace(s)] = struct{}{}
	}
	for _, s := range strings.Split(r, ",") {
		_, ok := have[strings.TrimSpace(s)]
		if ok && !all {
			return true
		}
		if !ok && all {
			return false
		}
	}
	return all
}

// meetsConstraint checks one non-distinct constraint on a node.
func (cc *constraintCache) meetsConstraint(con *structs.Constraint, n *structs.Node) bool {
	l, lok := resolveTarget(con.LTarget, n)
	r, rok := resolveTarget(con.RTarget, n)
	return cc.checkOperand(con.Operand, l, r, lok, rok)
}

// constraintString is how metrics name a constraint.
func constraintString(con *structs.Constraint) string {
	return strings.TrimSpace(con.LTarget + " " + con.Operand + " " + con.RTarget)
}
