package agent

import (
	"reflect"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// ignoredNomadFields lists, per request type, the fields Nomad's API
// client sends that nomadish accepts and does not model. decodeBody takes
// these keys, whatever their value, without complaint; any other key it
// does not know is refused with 400. A field listed for an embedded
// struct is accepted wherever that struct is embedded. The job file
// parser drops the same blocks (service kind and weights).
var ignoredNomadFields = map[reflect.Type][]string{
	// The ACL token travels in the X-Nomad-Token header; nomadish has no
	// ACLs, and the API client's body copy is always empty.
	reflect.TypeOf(structs.WriteRequest{}): {"SecretID"},
	// Kind is set by Nomad's servers for Consul Connect gateways; Weights
	// are Consul DNS weights.
	reflect.TypeOf(structs.Service{}): {"Kind", "Weights"},
	// ExposeConfig is the deprecated twin of Expose (which is stored); the
	// client always sends it, as null.
	reflect.TypeOf(structs.ConsulProxy{}): {"ExposeConfig"},
	// PromotedAt is stamped by Nomad's server, not by clients.
	reflect.TypeOf(deploymentPromoteBody{}): {"PromotedAt"},
	// The scheduler sizes the set of nodes a spread or affinity placement
	// compares itself (a few per combination of attribute values).
	reflect.TypeOf(structs.SchedulerConfiguration{}): {"NodeLimitForFeasibilityChecks"},
}
