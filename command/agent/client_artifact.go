package agent

import "github.com/hashicorp/hcl/v2"

// ClientArtifact is the client's `artifact` block. nomadish reads
// disable_filesystem_isolation: false (the default) keeps file artifact
// sources within the allocation directory, true lets them read any host
// path. Nomad's other artifact settings are noted as unused.
type ClientArtifact struct {
	DisableFilesystemIsolation bool     `hcl:"disable_filesystem_isolation,optional"`
	Remain                     hcl.Body `hcl:",remain"`
}

// hostFiles reports whether file artifact sources may read host paths.
func (a *ClientArtifact) hostFiles() bool { return a != nil && a.DisableFilesystemIsolation }
