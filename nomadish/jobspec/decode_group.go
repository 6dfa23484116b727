package jobspec

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/nomadish/nomadish/nomadish/structs"
)

var (
	groupSpec = newSpec(
		"count shutdown_delay max_run_duration stop_after_client_disconnect max_client_disconnect prevent_reschedule_on_lost meta",
		"constraint affinity spread task:name volume:name restart disconnect reschedule ephemeral_disk update migrate network service scaling consul meta vault")
	restartSpec    = newSpec("attempts interval delay mode render_templates", "")
	disconnectSpec = newSpec("lost_after stop_on_client_after replace reconcile", "")
	diskSpec       = newSpec("sticky migrate size", "")
	networkSpec    = newSpec("mode device cidr ip hostname mbits", "dns port:label reserved_ports:label cni")
	portSpec       = newSpec("static to host_network ignore_collision", "")
	dnsSpec        = newSpec("servers searches options", "")
	cniSpec        = newSpec("args", "args")
	volumeSpec     = newSpec("type source read_only sticky access_mode attachment_mode per_alloc", "mount_options")
	mountOptSpec   = newSpec("fs_type mount_flags", "")
	scalingSpec    = newSpec("min max enabled type", "policy")
)

func (d *decoder) decodeGroup(b *hcl.Block) *structs.TaskGroup {
	n := d.content(b, groupSpec)
	tg := &structs.TaskGroup{Name: label(b)}
	c, countSet := n.integer("count", 0, maxInt32)
	tg.Count = int(c)
	tg.ShutdownDelay = n.durationPtr("shutdown_delay")
	tg.MaxRunDuration = n.durationPtr("max_run_duration")
	tg.StopAfterClientDisconnect = n.durationPtr("stop_after_client_disconnect")
	tg.MaxClientDisconnect = n.durationPtr("max_client_disconnect")
	n.boolean("prevent_reschedule_on_lost", &tg.PreventRescheduleOnLost)
	tg.Meta = n.strMap("meta")
	tg.Constraints = d.constraints(n)
	tg.Affinities = d.affinities(n)
	tg.Spreads = d.spreads(n)

	if rb := n.one("restart"); rb != nil {
		tg.RestartPolicy = d.restart(rb, structs.DefaultRestartPolicy(d.jobType))
	}
	if db := n.one("disconnect"); db != nil {
		dn := d.content(db, disconnectSpec)
		tg.Disconnect = &structs.DisconnectStrategy{}
		dn.duration("lost_after", &tg.Disconnect.LostAfter)
		tg.Disconnect.StopOnClientAfter = dn.durationPtr("stop_on_client_after")
		tg.Disconnect.Replace = dn.boolPtr("replace")
		dn.str("reconcile", &tg.Disconnect.Reconcile)
	}
	if rb := n.one("reschedule"); rb != nil {
		base := d.jobResched
		if base == nil {
			base = structs.DefaultReschedulePolicy(d.jobType)
		}
		tg.ReschedulePolicy = d.reschedule(rb, base)
	}
	if eb := n.one("ephemeral_disk"); eb != nil {
		en := d.content(eb, diskSpec)
		tg.EphemeralDisk = &structs.EphemeralDisk{SizeMB: structs.DefaultEphemeralDiskMB}
		en.boolean("sticky", &tg.EphemeralDisk.Sticky)
		en.boolean("migrate", &tg.EphemeralDisk.Migrate)
		en.int("size", &tg.EphemeralDisk.SizeMB)
	}
	if ub := n.one("update"); ub != nil {
		base := d.jobUpdate
		if base == nil {
			base = structs.DefaultUpdateStrategy()
		}
		tg.Update = d.update(ub, base)
	}
	if mb := n.one("migrate"); mb != nil {
		base := d.jobMigrate
		if base == nil {
			base = structs.DefaultMigrateStrategy()
		}
		tg.Migrate = d.migrate(mb, base)
	}
	for _, nb := range n.all("network") {
		tg.Networks = append(tg.Networks, d.network(nb))
	}
	for _, sb := range n.all("service") {
		tg.Services = append(tg.Services, d.service(sb))
	}
	for _, vb := range n.all("volume") {
		if tg.Volumes == nil {
			tg.Volumes = map[string]*structs.VolumeRequest{}
		}
		name := label(vb)
		if _, dup := tg.Volumes[name]; dup {
			d.errorf(vb.DefRange.Ptr(), "Duplicate volume block", "Volume %q is defined more than once.", name)
			continue
		}
		tg.Volumes[name] = d.volume(vb)
	}
	minSet := false
	if sb := n.one("scaling"); sb != nil {
		var sn *node
		tg.Scaling, sn, minSet = d.scaling(sb, "horizontal", true)
		if tg.Scaling.Type != "horizontal" {
			rng := sb.DefRange
			if a, ok := sn.attrs["type"]; ok {
				rng = a.Expr.Range()
			}
			d.errorf(rng.Ptr(), "Invalid group scaling type",
				"task group scaling policy had invalid type: %q", tg.Scaling.Type)
		}
	}
	if cb := n.one("consul"); cb != nil {
		tg.Consul = d.consul(cb)
	}
	// Tasks restart as their own restart block says, over the group's.
	groupRestart := tg.RestartPolicy
	if groupRestart == nil {
		groupRestart = structs.DefaultRestartPolicy(d.jobType)
	}
	var vault *structs.Vault
	if vb := n.one("vault"); vb != nil {
		vault = d.vault(vb)
	}

	tasks := n.all("task")
	if len(tasks) > structs.MaxTasksPerJob {
		d.errorf(tasks[structs.MaxTasksPerJob].DefRange.Ptr(), "Too many tasks",
			"A job may have at most %d tasks; this group has %d.", structs.MaxTasksPerJob, len(tasks))
		tasks = nil
	}
	for _, tb := range tasks {
		t := d.decodeTask(tb, groupRestart)
		if t.Vault == nil && vault != nil {
			v := *vault
			t.Vault = &v
		}
		tg.Tasks = append(tg.Tasks, t)
	}

	if !countSet {
		tg.Count = 1
		if tg.Scaling != nil && minSet {
			tg.Count = int(tg.Scaling.Min)
		}
	}
	if tg.Scaling != nil && !minSet {
		tg.Scaling.Min = int64(tg.Count)
	}
	return tg
}

func (d *decoder) restart(b *hcl.Block, base *structs.RestartPolicy) *structs.RestartPolicy {
	n := d.content(b, restartSpec)
	r := &structs.RestartPolicy{}
	if base != nil {
		*r = *base
	}
	n.int("attempts", &r.Attempts)
	n.duration("interval", &r.Interval)
	n.duration("delay", &r.Delay)
	n.str("mode", &r.Mode)
	n.boolean("render_templates", &r.RenderTemplates)
	return r
}

func (d *decoder) network(b *hcl.Block) *structs.NetworkResource {
	n := d.content(b, networkSpec)
	nr := &structs.NetworkResource{}
	n.str("mode", &nr.Mode)
	n.str("device", &nr.Device)
	n.str("cidr", &nr.CIDR)
	n.str("ip", &nr.IP)
	n.str("hostname", &nr.Hostname)
	n.int("mbits", &nr.MBits)
	if db := n.one("dns"); db != nil {
		dn := d.content(db, dnsSpec)
		nr.DNS = &structs.DNSConfig{}
		dn.strs("servers", &nr.DNS.Servers)
		dn.strs("searches", &nr.DNS.Searches)
		dn.strs("options", &nr.DNS.Options)
	}
	if cb := n.one("cni"); cb != nil {
		cn := d.content(cb, cniSpec)
		nr.CNI = &structs.CNIConfig{Args: cn.strMap("args")}
	}
	seen := map[string]hcl.Range{}
	for _, pb := range append(n.all("port"), n.all("reserved_ports")...) {
		pn := d.content(pb, portSpec)
		p := structs.Port{Label: label(pb)}
		if prev, dup := seen[p.Label]; dup {
			d.errorf(pb.DefRange.Ptr(), "Duplicate port", "Port %q was already defined at %s.", p.Label, prev)
			continue
		}
		seen[p.Label] = pb.DefRange
		if v, ok := pn.integer("static", 0, 65535); ok {
			p.Value = int(v)
		}
		if v, ok := pn.integer("to", -1, 65535); ok {
			p.To = int(v)
		}
		pn.str("host_network", &p.HostNetwork)
		pn.boolean("ignore_collision", &p.IgnoreCollision)
		if p.Value > 0 {
			nr.ReservedPorts = append(nr.ReservedPorts, p)
		} else {
			nr.DynamicPorts = append(nr.DynamicPorts, p)
		}
	}
	return nr
}

func (d *decoder) volume(b *hcl.Block) *structs.VolumeRequest {
	n := d.content(b, volumeSpec)
	v := &structs.VolumeRequest{Name: label(b)}
	n.str("type", &v.Type)
	n.str("source", &v.Source)
	n.boolean("read_only", &v.ReadOnly)
	n.boolean("sticky", &v.Sticky)
	n.str("access_mode", &v.AccessMode)
	n.str("attachment_mode", &v.AttachmentMode)
	n.boolean("per_alloc", &v.PerAlloc)
	if mb := n.one("mount_options"); mb != nil {
		mn := d.content(mb, mountOptSpec)
		v.MountOptions = &structs.CSIMountOptions{}
		mn.str("fs_type", &v.MountOptions.FSType)
		mn.strs("mount_flags", &v.MountOptions.MountFlags)
	}
	return v
}

// scaling decodes a scaling block; needMax makes max required.
func (d *decoder) scaling(b *hcl.Block, defType string, needMax bool) (*structs.ScalingPolicy, *node, bool) {
	n := d.content(b, scalingSpec)
	p := &structs.ScalingPolicy{Enabled: true}
	if needMax && !n.has("max") {
		d.errorf(b.Body.MissingItemRange().Ptr(), "Missing required argument",
			"The argument \"max\" is required, but no definition was found.")
	}
	n.int64("min", &p.Min)
	n.int64("max", &p.Max)
	n.boolean("enabled", &p.Enabled)
	n.str("type", &p.Type)
	if p.Type == "" {
		p.Type = defType
	}
	if pb := n.one("policy"); pb != nil {
		p.Policy = d.anyMap(pb.Body)
	}
	return p, n, n.has("min")
}
