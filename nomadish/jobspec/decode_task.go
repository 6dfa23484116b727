package jobspec

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/nomadish/nomadish/nomadish/structs"
)

var (
	taskSpec = newSpec(
		"driver user kill_timeout leader shutdown_delay kill_signal kind env meta",
		"config constraint affinity env service resources restart meta logs artifact vault consul template dispatch_payload volume_mount csi_plugin lifecycle scaling:name identity action:name secret:name schedule")
	resourcesSpec   = newSpec("cpu cores memory memory_max disk iops secrets", "network device:name numa")
	deviceSpec      = newSpec("count", "constraint affinity")
	numaSpec        = newSpec("affinity devices", "")
	logsSpec        = newSpec("max_files max_file_size enabled disabled", "")
	artifactSpec    = newSpec("source mode insecure destination chown options headers", "options headers")
	templateSpec    = newSpec("source destination data change_mode change_signal once splay perms uid gid left_delimiter right_delimiter env vault_grace error_on_missing_key", "change_script wait")
	changeSpec      = newSpec("command args timeout fail_on_error", "")
	waitSpec        = newSpec("min max", "")
	payloadSpec     = newSpec("file", "")
	volumeMountSpec = newSpec("volume destination read_only propagation_mode selinux_label", "")
	csiPluginSpec   = newSpec("id type mount_dir stage_publish_base_dir health_timeout", "")
	lifecycleSpec   = newSpec("hook sidecar", "")
	identitySpec    = newSpec("name aud change_mode change_signal env file filepath service_name ttl extra_claims", "")
	actionSpec      = newSpec("command args", "")
	secretSpec      = newSpec("provider path", "config env")
	scheduleSpec    = newSpec("", "cron")
	schedCronSpec   = newSpec("start end timezone", "")
)

func (d *decoder) decodeTask(b *hcl.Block, groupRestart *structs.RestartPolicy) *structs.Task {
	n := d.content(b, taskSpec)
	t := &structs.Task{Name: label(b)}
	n.str("driver", &t.Driver)
	n.str("user", &t.User)
	n.duration("kill_timeout", &t.KillTimeout)
	n.boolean("leader", &t.Leader)
	n.duration("shutdown_delay", &t.ShutdownDelay)
	n.str("kill_signal", &t.KillSignal)
	n.str("kind", &t.Kind)
	t.Env = n.strMap("env")
	t.Meta = n.strMap("meta")
	if cb := n.one("config"); cb != nil {
		t.Config = d.anyMap(cb.Body)
	}
	t.Constraints = d.constraints(n)
	t.Affinities = d.affinities(n)
	for _, sb := range n.all("service") {
		t.Services = append(t.Services, d.service(sb))
	}
	if rb := n.one("resources"); rb != nil {
		t.Resources = d.resources(rb)
	}
	if rb := n.one("restart"); rb != nil {
		t.RestartPolicy = d.restart(rb, groupRestart)
	}
	if lb := n.one("logs"); lb != nil {
		ln := d.content(lb, logsSpec)
		t.LogConfig = &structs.LogConfig{MaxFiles: structs.DefaultLogMaxFiles, MaxFileSizeMB: structs.DefaultLogMaxFileSizeMB}
		ln.int("max_files", &t.LogConfig.MaxFiles)
		ln.int("max_file_size", &t.LogConfig.MaxFileSizeMB)
		ln.boolean("disabled", &t.LogConfig.Disabled)
		if enabled := ln.boolPtr("enabled"); enabled != nil && !*enabled {
			t.LogConfig.Disabled = true
		}
	}
	for _, ab := range n.all("artifact") {
		t.Artifacts = append(t.Artifacts, d.artifact(ab))
	}
	if vb := n.one("vault"); vb != nil {
		t.Vault = d.vault(vb)
	}
	if cb := n.one("consul"); cb != nil {
		t.Consul = d.consul(cb)
	}
	for _, tb := range n.all("template") {
		t.Templates = append(t.Templates, d.template(tb))
	}
	if pb := n.one("dispatch_payload"); pb != nil {
		pn := d.content(pb, payloadSpec)
		t.DispatchPayload = &structs.DispatchPayloadConfig{}
		pn.str("file", &t.DispatchPayload.File)
	}
	for _, vb := range n.all("volume_mount") {
		vn := d.content(vb, volumeMountSpec)
		vm := &structs.VolumeMount{}
		vn.str("volume", &vm.Volume)
		vn.str("destination", &vm.Destination)
		vn.boolean("read_only", &vm.ReadOnly)
		vn.str("propagation_mode", &vm.PropagationMode)
		vn.str("selinux_label", &vm.SELinuxLabel)
		t.VolumeMounts = append(t.VolumeMounts, vm)
	}
	if cb := n.one("csi_plugin"); cb != nil {
		cn := d.content(cb, csiPluginSpec)
		p := &structs.TaskCSIPluginConfig{}
		cn.str("id", &p.ID)
		cn.str("type", &p.Type)
		cn.str("mount_dir", &p.MountDir)
		cn.str("stage_publish_base_dir", &p.StagePublishBaseDir)
		cn.duration("health_timeout", &p.HealthTimeout)
		t.CSIPluginConfig = p
	}
	if lb := n.one("lifecycle"); lb != nil {
		ln := d.content(lb, lifecycleSpec)
		t.Lifecycle = &structs.TaskLifecycleConfig{}
		if !ln.has("hook") {
			d.errorf(lb.Body.MissingItemRange().Ptr(), "Missing required argument",
				"The argument \"hook\" is required, but no definition was found.")
		}
		ln.str("hook", &t.Lifecycle.Hook)
		ln.boolean("sidecar", &t.Lifecycle.Sidecar)
	}
	seen := map[string]*hcl.Block{}
	for _, sb := range n.all("scaling") {
		name := label(sb)
		typ := scalingType(name)
		if typ == "" {
			d.errorf(labelRange(sb), "Invalid scaling policy name", `scaling policy name must be "cpu" or "mem"`)
			continue
		}
		if prev, dup := seen[typ]; dup {
			d.errorf(sb.DefRange.Ptr(), "Duplicate scaling \""+name+"\" block",
				"Only one scaling %s block is allowed. Another was defined at %s.", name, prev.DefRange)
			continue
		}
		seen[typ] = sb
		p, _, _ := d.scaling(sb, typ, false)
		if p.Type != typ {
			d.errorf(sb.DefRange.Ptr(), "Invalid scaling policy type",
				"Invalid policy type, expected %q but found %q", typ, p.Type)
			continue
		}
		t.ScalingPolicies = append(t.ScalingPolicies, p)
	}
	for _, ib := range n.all("identity") {
		id := d.identity(ib)
		if id.Name == "" || id.Name == "default" {
			if t.Identity != nil {
				d.errorf(ib.DefRange.Ptr(), "Duplicate identity block", "Only one default identity block is allowed.")
				continue
			}
			t.Identity = id
			continue
		}
		t.Identities = append(t.Identities, id)
	}
	for _, ab := range n.all("action") {
		an := d.content(ab, actionSpec)
		an.str("command", new(string))
		an.strs("args", new([]string))
	}
	for _, sb := range n.all("secret") {
		sn := d.content(sb, secretSpec)
		sn.str("provider", new(string))
		sn.str("path", new(string))
		if cb := sn.one("config"); cb != nil {
			d.anyMap(cb.Body)
		}
		sn.strMap("env")
	}
	if sb := n.one("schedule"); sb != nil {
		sn := d.content(sb, scheduleSpec)
		t.Schedule = &structs.TaskSchedule{}
		if cb := sn.one("cron"); cb != nil {
			cn := d.content(cb, schedCronSpec)
			t.Schedule.Cron = &structs.TaskScheduleCron{}
			cn.str("start", &t.Schedule.Cron.Start)
			cn.str("end", &t.Schedule.Cron.End)
			cn.str("timezone", &t.Schedule.Cron.Timezone)
		}
	}
	if t.RestartPolicy == nil && groupRestart != nil {
		r := *groupRestart
		t.RestartPolicy = &r
	}
	return t
}

func (d *decoder) identity(b *hcl.Block) *structs.WorkloadIdentity {
	n := d.content(b, identitySpec)
	id := &structs.WorkloadIdentity{}
	n.str("name", &id.Name)
	n.strs("aud", &id.Audience)
	n.str("change_mode", &id.ChangeMode)
	n.str("change_signal", &id.ChangeSignal)
	n.boolean("env", &id.Env)
	n.boolean("file", &id.File)
	n.str("filepath", &id.Filepath)
	n.str("service_name", &id.ServiceName)
	n.duration("ttl", &id.TTL)
	n.strs("extra_claims", &id.ExtraClaims)
	return id
}

func (d *decoder) resources(b *hcl.Block) *structs.Resources {
	n := d.content(b, resourcesSpec)
	r := &structs.Resources{}
	if !n.has("cores") {
		r.CPU = structs.DefaultResourcesCPU
	}
	r.MemoryMB = structs.DefaultResourcesMemoryMB
	n.int("cpu", &r.CPU)
	n.int("cores", &r.Cores)
	n.int("memory", &r.MemoryMB)
	n.int("memory_max", &r.MemoryMaxMB)
	n.int("disk", &r.DiskMB)
	n.int("iops", &r.IOPS)
	n.int("secrets", &r.SecretsMB)
	for _, nb := range n.all("network") {
		r.Networks = append(r.Networks, d.network(nb))
	}
	for _, db := range n.all("device") {
		dn := d.content(db, deviceSpec)
		dev := &structs.RequestedDevice{Name: label(db), Count: 1}
		dn.uint64("count", &dev.Count)
		dev.Constraints = d.constraints(dn)
		dev.Affinities = d.affinities(dn)
		r.Devices = append(r.Devices, dev)
	}
	if nb := n.one("numa"); nb != nil {
		nn := d.content(nb, numaSpec)
		r.NUMA = &structs.NUMAResource{}
		nn.str("affinity", &r.NUMA.Affinity)
		nn.strs("devices", &r.NUMA.Devices)
	}
	return r
}

func (d *decoder) artifact(b *hcl.Block) *structs.TaskArtifact {
	n := d.content(b, artifactSpec)
	a := &structs.TaskArtifact{}
	n.str("source", &a.GetterSource)
	n.str("mode", &a.GetterMode)
	n.boolean("insecure", &a.GetterInsecure)
	n.str("destination", &a.RelativeDest)
	n.boolean("chown", &a.Chown)
	a.GetterOptions = n.strMap("options")
	a.GetterHeaders = n.strMap("headers")
	return a
}

func (d *decoder) template(b *hcl.Block) *structs.Template {
	n := d.content(b, templateSpec)
	t := &structs.Template{ChangeMode: "restart", Perms: "0644", Splay: structs.DefaultTemplateSplay}
	n.str("source", &t.SourcePath)
	n.str("destination", &t.DestPath)
	n.str("data", &t.EmbeddedTmpl)
	n.str("change_mode", &t.ChangeMode)
	n.str("change_signal", &t.ChangeSignal)
	n.boolean("once", &t.Once)
	n.duration("splay", &t.Splay)
	n.str("perms", &t.Perms)
	t.Uid = n.intPtr("uid")
	t.Gid = n.intPtr("gid")
	n.str("left_delimiter", &t.LeftDelim)
	n.str("right_delimiter", &t.RightDelim)
	n.boolean("env", &t.Envvars)
	n.duration("vault_grace", &t.VaultGrace)
	n.boolean("error_on_missing_key", &t.ErrMissingKey)
	if cb := n.one("change_script"); cb != nil {
		cn := d.content(cb, changeSpec)
		t.ChangeScript = &structs.ChangeScript{Args: []string{}, Timeout: structs.DefaultChangeScriptTimeout}
		cn.str("command", &t.ChangeScript.Command)
		cn.strs("args", &t.ChangeScript.Args)
		cn.duration("timeout", &t.ChangeScript.Timeout)
		cn.boolean("fail_on_error", &t.ChangeScript.FailOnError)
	}
	if wb := n.one("wait"); wb != nil {
		wn := d.content(wb, waitSpec)
		t.Wait = &structs.WaitConfig{Min: wn.durationPtr("min"), Max: wn.durationPtr("max")}
	}
	return t
}
