package api

import (
	"net/url"

	"github.com/nomadish/nomadish/nomadish/structs"
)

type (
	// Deployment tracks the rollout of one job version.
	Deployment = structs.Deployment
	// DeploymentState is one group's progress in a deployment.
	DeploymentState = structs.DeploymentState
	// DeploymentUpdateResponse answers a deployment change.
	DeploymentUpdateResponse = structs.DeploymentUpdateResponse
)

// Deployments is the /v1/deployment endpoint group.
type Deployments struct {
	client *Client
}

// Deployments returns the deployment endpoints.
func (c *Client) Deployments() *Deployments { return &Deployments{client: c} }

// List lists deployments, newest first; q.Prefix filters by ID prefix.
func (d *Deployments) List(q *QueryOptions) ([]*Deployment, *QueryMeta, error) {
	var resp []*Deployment
	qm, err := d.client.query("/v1/deployments", &resp, q)
	if err != nil {
		return nil, nil, err
	}
	return resp, qm, nil
}

// PrefixList lists deployments whose ID starts with prefix.
func (d *Deployments) PrefixList(prefix string) ([]*Deployment, *QueryMeta, error) {
	return d.List(&QueryOptions{Prefix: prefix})
}

// Info reads one deployment.
func (d *Deployments) Info(id string, q *QueryOptions) (*Deployment, *QueryMeta, error) {
	var resp Deployment
	qm, err := d.client.query("/v1/deployment/"+url.PathEscape(id), &resp, q)
	if err != nil {
		return nil, nil, err
	}
	return &resp, qm, nil
}

// Allocations lists a deployment's allocations.
func (d *Deployments) Allocations(id string, q *QueryOptions) ([]*AllocationListStub, *QueryMeta, error) {
	var resp []*AllocationListStub
	qm, err := d.client.query("/v1/deployment/allocations/"+url.PathEscape(id), &resp, q)
	if err != nil {
		return nil, nil, err
	}
	return resp, qm, nil
}

func (d *Deployments) update(path string, body any, q *WriteOptions) (*DeploymentUpdateResponse, *WriteMeta, error) {
	var resp DeploymentUpdateResponse
	wm, err := d.client.put(path, body, &resp, q)
	if err != nil {
		return nil, nil, err
	}
	return &resp, wm, nil
}

// Fail marks a deployment failed; with auto_revert the job rolls back.
func (d *Deployments) Fail(id string, q *WriteOptions) (*DeploymentUpdateResponse, *WriteMeta, error) {
	return d.update("/v1/deployment/fail/"+url.PathEscape(id), map[string]string{"DeploymentID": id}, q)
}

// Pause pauses (pause true) or resumes a deployment.
func (d *Deployments) Pause(id string, pause bool, q *WriteOptions) (*DeploymentUpdateResponse, *WriteMeta, error) {
	return d.update("/v1/deployment/pause/"+url.PathEscape(id), map[string]interface{}{"DeploymentID": id, "Pause": pause}, q)
}

// PromoteAll promotes the canaries of every group.
func (d *Deployments) PromoteAll(id string, q *WriteOptions) (*DeploymentUpdateResponse, *WriteMeta, error) {
	return d.update("/v1/deployment/promote/"+url.PathEscape(id), map[string]interface{}{"DeploymentID": id, "All": true}, q)
}

// PromoteGroups promotes the canaries of the named groups.
func (d *Deployments) PromoteGroups(id string, groups []string, q *WriteOptions) (*DeploymentUpdateResponse, *WriteMeta, error) {
	return d.update("/v1/deployment/promote/"+url.PathEscape(id), map[string]interface{}{"DeploymentID": id, "Groups": groups}, q)
}

// Deployments lists a job's deployments, newest first.
func (j *Jobs) Deployments(jobID string, q *QueryOptions) ([]*Deployment, *QueryMeta, error) {
	var resp []*Deployment
	qm, err := j.client.query("/v1/job/"+url.PathEscape(jobID)+"/deployments", &resp, q)
	if err != nil {
		return nil, nil, err
	}
	return resp, qm, nil
}

// LatestDeployment returns the job's newest deployment, or nil.
func (j *Jobs) LatestDeployment(jobID string, q *QueryOptions) (*Deployment, *QueryMeta, error) {
	var resp *Deployment
	qm, err := j.client.query("/v1/job/"+url.PathEscape(jobID)+"/deployment", &resp, q)
	if err != nil {
		return nil, nil, err
	}
	return resp, qm, nil
}

// SetAllocHealth marks a deployment's allocations healthy or unhealthy by
// hand, for groups whose update block has health_check = "manual".
func (d *Deployments) SetAllocHealth(id string, healthy, unhealthy []string, q *WriteOptions) (*DeploymentUpdateResponse, *WriteMeta, error) {
	return d.update("/v1/deployment/allocation-health/"+url.PathEscape(id), map[string]interface{}{
		"DeploymentID": id, "HealthyAllocationIDs": healthy, "UnhealthyAllocationIDs": unhealthy,
	}, q)
}
