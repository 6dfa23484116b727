package jobspec

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/nomadish/nomadish/nomadish/structs"
)

var (
	jobSpec = newSpec(
		"id name region namespace type priority all_at_once datacenters node_pool meta consul_token vault_token consul_namespace vault_namespace",
		"group:name task:name constraint affinity spread update migrate reschedule periodic parameterized multiregion vault consul ui meta")
	constraintSpec = newSpec("attribute value operator distinct_hosts distinct_property regexp version semver set_contains set_contains_all set_contains_any is_set is_not_set", "")
	affinitySpec   = newSpec("attribute value operator weight regexp version semver set_contains set_contains_all set_contains_any", "")
	spreadSpec     = newSpec("attribute weight", "target:value")
	targetSpec     = newSpec("percent", "")
	updateSpec     = newSpec("stagger max_parallel health_check min_healthy_time healthy_deadline progress_deadline canary auto_revert auto_promote", "")
	migrateSpec    = newSpec("max_parallel health_check min_healthy_time healthy_deadline", "")
	rescheduleSpec = newSpec("attempts interval delay delay_function max_delay unlimited", "")
	periodicSpec   = newSpec("cron crons prohibit_overlap time_zone enabled", "")
	paramSpec      = newSpec("payload meta_required meta_optional", "")
	multiSpec      = newSpec("", "strategy region:name")
	mrStrategySpec = newSpec("max_parallel on_failure", "")
	mrRegionSpec   = newSpec("count datacenters node_pool meta", "meta")
	vaultSpec      = newSpec("policies role namespace cluster env disable_file change_mode change_signal allow_token_expiration", "")
	consulSpec     = newSpec("namespace cluster partition", "")
	uiSpec         = newSpec("description", "link")
	uiLinkSpec     = newSpec("label url", "")
)

func (d *decoder) decodeJob(b *hcl.Block) *structs.Job {
	n := d.content(b, jobSpec)
	j := &structs.Job{ID: label(b), Name: label(b)}
	n.str("id", &j.ID)
	n.str("name", &j.Name)
	n.str("region", &j.Region)
	n.str("namespace", &j.Namespace)
	n.str("type", &j.Type)
	if !n.has("priority") {
		j.Priority = structs.DefaultJobPriority
	}
	n.int("priority", &j.Priority)
	n.boolean("all_at_once", &j.AllAtOnce)
	n.strs("datacenters", &j.Datacenters)
	n.str("node_pool", &j.NodePool)
	j.Meta = n.strMap("meta")
	n.str("consul_token", &j.ConsulToken)
	n.str("vault_token", &j.VaultToken)
	n.str("consul_namespace", &j.ConsulNamespace)
	n.str("vault_namespace", &j.VaultNamespace)

	j.Constraints = d.constraints(n)
	j.Affinities = d.affinities(n)
	j.Spreads = d.spreads(n)
	jobType := j.Type
	if jobType == "" {
		jobType = structs.JobTypeService
	}
	// Group-level update, migrate and reschedule blocks override only the
	// fields they set; the rest comes from the job's block, then defaults.
	d.jobType = jobType
	d.jobUpdate, d.jobMigrate, d.jobResched = nil, nil, nil
	if ub := n.one("update"); ub != nil {
		d.jobUpdate = d.update(ub, structs.DefaultUpdateStrategy())
		j.Update = *d.jobUpdate
	}
	if mb := n.one("migrate"); mb != nil {
		d.jobMigrate = d.migrate(mb, structs.DefaultMigrateStrategy())
	}
	if rb := n.one("reschedule"); rb != nil {
		d.jobResched = d.reschedule(rb, structs.DefaultReschedulePolicy(jobType))
	}
	if pb := n.one("periodic"); pb != nil {
		j.Periodic = d.periodic(pb)
	}
	if pb := n.one("parameterized"); pb != nil {
		pn := d.content(pb, paramSpec)
		j.ParameterizedJob = &structs.ParameterizedJobConfig{}
		pn.str("payload", &j.ParameterizedJob.Payload)
		pn.strs("meta_required", &j.ParameterizedJob.MetaRequired)
		pn.strs("meta_optional", &j.ParameterizedJob.MetaOptional)
	}
	if mb := n.one("multiregion"); mb != nil {
		j.Multiregion = d.multiregion(mb)
	}
	var vault *structs.Vault
	if vb := n.one("vault"); vb != nil {
		vault = d.vault(vb)
	}
	var consul *structs.Consul
	if cb := n.one("consul"); cb != nil {
		consul = d.consul(cb)
	}
	if ub := n.one("ui"); ub != nil {
		un := d.content(ub, uiSpec)
		j.UI = &structs.JobUIConfig{}
		un.str("description", &j.UI.Description)
		for _, lb := range un.all("link") {
			ln := d.content(lb, uiLinkSpec)
			l := &structs.JobUILink{}
			ln.str("label", &l.Label)
			ln.str("url", &l.URL)
			j.UI.Links = append(j.UI.Links, l)
		}
	}

	if groups := append(n.all("task"), n.all("group")...); len(groups) > structs.MaxTaskGroups {
		d.errorf(groups[structs.MaxTaskGroups].DefRange.Ptr(), "Too many groups",
			"A job may have at most %d groups; this one has %d.", structs.MaxTaskGroups, len(groups))
		return j
	}
	// A task directly in the job is a group of its own.
	for _, tb := range n.all("task") {
		t := d.decodeTask(tb, structs.DefaultRestartPolicy(jobType))
		j.TaskGroups = append(j.TaskGroups, &structs.TaskGroup{Name: t.Name, Count: 1, Tasks: []*structs.Task{t}})
	}
	for _, gb := range n.all("group") {
		j.TaskGroups = append(j.TaskGroups, d.decodeGroup(gb))
	}
	for _, tg := range j.TaskGroups {
		if tg.Update == nil && d.jobUpdate != nil {
			u := *d.jobUpdate
			tg.Update = &u
		}
		if tg.Migrate == nil && d.jobMigrate != nil {
			m := *d.jobMigrate
			tg.Migrate = &m
		}
		if tg.ReschedulePolicy == nil && d.jobResched != nil {
			r := *d.jobResched
			tg.ReschedulePolicy = &r
		}
		if tg.Consul == nil && consul != nil {
			c := *consul
			tg.Consul = &c
		}
		for _, t := range tg.Tasks {
			if t.Vault == nil && vault != nil {
				v := *vault
				t.Vault = &v
			}
		}
	}
	return j
}

func (d *decoder) constraints(n *node) []*structs.Constraint {
	var out []*structs.Constraint
	for _, b := range n.all("constraint") {
		out = append(out, d.constraint(b))
	}
	return out
}

func (d *decoder) constraint(b *hcl.Block) *structs.Constraint {
	n := d.content(b, constraintSpec)
	c := &structs.Constraint{}
	n.str("attribute", &c.LTarget)
	n.str("value", &c.RTarget)
	n.str("operator", &c.Operand)
	for _, op := range []string{"version", "semver", "regexp", "set_contains", "set_contains_all", "set_contains_any"} {
		var v string
		n.str(op, &v)
		if v != "" {
			c.Operand, c.RTarget = op, v
		}
	}
	for _, op := range []string{"is_set", "is_not_set"} {
		var v string
		n.str(op, &v)
		if v != "" {
			c.Operand, c.LTarget = op, v
		}
	}
	if distinct := n.boolPtr("distinct_hosts"); distinct != nil {
		c.Operand = "distinct_hosts"
		c.RTarget = fmt.Sprint(*distinct)
	}
	var prop string
	n.str("distinct_property", &prop)
	if prop != "" {
		c.Operand, c.LTarget = "distinct_property", prop
	}
	if c.Operand == "" {
		c.Operand = "="
	}
	return c
}

func (d *decoder) affinities(n *node) []*structs.Affinity {
	var out []*structs.Affinity
	for _, b := range n.all("affinity") {
		an := d.content(b, affinitySpec)
		a := &structs.Affinity{}
		an.str("attribute", &a.LTarget)
		an.str("value", &a.RTarget)
		an.str("operator", &a.Operand)
		for _, op := range []string{"version", "semver", "regexp", "set_contains_any", "set_contains_all", "set_contains"} {
			var v string
			an.str(op, &v)
			if v != "" {
				a.Operand, a.RTarget = op, v
			}
		}
		if w, ok := an.integer("weight", -100, 100); ok {
			a.Weight = int8(w)
		}
		if a.Operand == "" {
			a.Operand = "="
		}
		out = append(out, a)
	}
	return out
}

func (d *decoder) spreads(n *node) []*structs.Spread {
	var out []*structs.Spread
	for _, b := range n.all("spread") {
		sn := d.content(b, spreadSpec)
		s := &structs.Spread{}
		sn.str("attribute", &s.Attribute)
		if w, ok := sn.integer("weight", -100, 100); ok {
			s.Weight = int8(w)
		}
		for _, tb := range sn.all("target") {
			tn := d.content(tb, targetSpec)
			t := &structs.SpreadTarget{Value: label(tb)}
			if p, ok := tn.integer("percent", 0, 100); ok {
				t.Percent = uint8(p)
			}
			s.SpreadTarget = append(s.SpreadTarget, t)
		}
		out = append(out, s)
	}
	return out
}

// update applies an update block onto a copy of base.
func (d *decoder) update(b *hcl.Block, base *structs.UpdateStrategy) *structs.UpdateStrategy {
	n := d.content(b, updateSpec)
	u := &structs.UpdateStrategy{}
	if base != nil {
		*u = *base
	}
	n.duration("stagger", &u.Stagger)
	n.int("max_parallel", &u.MaxParallel)
	n.str("health_check", &u.HealthCheck)
	n.duration("min_healthy_time", &u.MinHealthyTime)
	n.duration("healthy_deadline", &u.HealthyDeadline)
	n.duration("progress_deadline", &u.ProgressDeadline)
	n.int("canary", &u.Canary)
	n.boolean("auto_revert", &u.AutoRevert)
	n.boolean("auto_promote", &u.AutoPromote)
	return u
}

func (d *decoder) migrate(b *hcl.Block, base *structs.MigrateStrategy) *structs.MigrateStrategy {
	n := d.content(b, migrateSpec)
	m := &structs.MigrateStrategy{}
	if base != nil {
		*m = *base
	}
	n.int("max_parallel", &m.MaxParallel)
	n.str("health_check", &m.HealthCheck)
	n.duration("min_healthy_time", &m.MinHealthyTime)
	n.duration("healthy_deadline", &m.HealthyDeadline)
	return m
}

func (d *decoder) reschedule(b *hcl.Block, base *structs.ReschedulePolicy) *structs.ReschedulePolicy {
	n := d.content(b, rescheduleSpec)
	r := &structs.ReschedulePolicy{}
	if base != nil {
		*r = *base
	}
	n.int("attempts", &r.Attempts)
	n.duration("interval", &r.Interval)
	n.duration("delay", &r.Delay)
	n.str("delay_function", &r.DelayFunction)
	n.duration("max_delay", &r.MaxDelay)
	n.boolean("unlimited", &r.Unlimited)
	return r
}

func (d *decoder) periodic(b *hcl.Block) *structs.PeriodicConfig {
	n := d.content(b, periodicSpec)
	p := &structs.PeriodicConfig{Enabled: true}
	n.str("cron", &p.Spec)
	n.strs("crons", &p.Specs)
	n.boolean("prohibit_overlap", &p.ProhibitOverlap)
	n.str("time_zone", &p.TimeZone)
	n.boolean("enabled", &p.Enabled)
	if p.Spec != "" || len(p.Specs) > 0 {
		p.SpecType = "cron"
	}
	return p
}

func (d *decoder) multiregion(b *hcl.Block) *structs.Multiregion {
	n := d.content(b, multiSpec)
	m := &structs.Multiregion{}
	if sb := n.one("strategy"); sb != nil {
		sn := d.content(sb, mrStrategySpec)
		m.Strategy = &structs.MultiregionStrategy{}
		sn.int("max_parallel", &m.Strategy.MaxParallel)
		sn.str("on_failure", &m.Strategy.OnFailure)
	}
	for _, rb := range n.all("region") {
		rn := d.content(rb, mrRegionSpec)
		r := &structs.MultiregionRegion{Name: label(rb)}
		rn.int("count", &r.Count)
		rn.strs("datacenters", &r.Datacenters)
		rn.str("node_pool", &r.NodePool)
		r.Meta = rn.strMap("meta")
		m.Regions = append(m.Regions, r)
	}
	return m
}

func (d *decoder) vault(b *hcl.Block) *structs.Vault {
	n := d.content(b, vaultSpec)
	v := &structs.Vault{Env: true, ChangeMode: "restart"}
	n.strs("policies", &v.Policies)
	n.str("role", &v.Role)
	n.str("namespace", &v.Namespace)
	n.str("cluster", &v.Cluster)
	n.boolean("env", &v.Env)
	n.boolean("disable_file", &v.DisableFile)
	n.str("change_mode", &v.ChangeMode)
	n.str("change_signal", &v.ChangeSignal)
	n.boolean("allow_token_expiration", &v.AllowTokenExpiration)
	return v
}

func (d *decoder) consul(b *hcl.Block) *structs.Consul {
	n := d.content(b, consulSpec)
	c := &structs.Consul{}
	n.str("namespace", &c.Namespace)
	n.str("cluster", &c.Cluster)
	n.str("partition", &c.Partition)
	return c
}

// scalingType maps a task scaling block label to its policy type.
func scalingType(l string) string {
	switch strings.ToLower(l) {
	case "cpu":
		return "vertical_cpu"
	case "mem":
		return "vertical_mem"
	}
	return ""
}
