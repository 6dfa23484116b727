package structs

// Event topics, as Nomad's event stream names them.
const (
	TopicJob        = "Job"
	TopicAllocation = "Allocation"
	TopicEvaluation = "Evaluation"
	TopicNode       = "Node"
	TopicDeployment = "Deployment"
	TopicAll        = "*"
)

// Event is one state change on the event stream.
type Event struct {
	Topic      string
	Type       string
	Key        string
	Namespace  string
	FilterKeys []string
	Index      uint64
	Payload    map[string]interface{}
}

// Events is the frame the event stream sends: the events of one Raft index.
type Events struct {
	Index  uint64
	Events []Event
}
