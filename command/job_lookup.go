package command

import (
	"fmt"
	"strings"

	"github.com/nomadish/nomadish/nomadish/api"
)

// lookupJob finds the one job whose ID is id or starts with it. On failure
// it returns a message for the user.
func lookupJob(client *api.Client, id string) (*api.JobListStub, string) {
	id = strings.TrimSpace(id)
	jobs, _, err := client.Jobs().PrefixList(id)
	if err != nil {
		return nil, fmt.Sprintf("Error querying job: %s", err)
	}
	if len(jobs) == 0 {
		return nil, fmt.Sprintf("No job(s) with prefix or id %q found", id)
	}
	for _, j := range jobs {
		if j.ID == id {
			return j, ""
		}
	}
	if len(jobs) > 1 {
		return nil, fmt.Sprintf("Prefix matched multiple jobs\n\n%s", formatJobList(jobs))
	}
	return jobs[0], ""
}

// formatJobList is the table of `job status` without an ID.
func formatJobList(jobs []*api.JobListStub) string {
	showNS := false
	for _, j := range jobs {
		if j.Namespace != "" && j.Namespace != "default" {
			showNS = true
		}
	}
	var rows [][]string
	if showNS {
		rows = append(rows, row("ID", "Namespace", "Type", "Priority", "Status", "Submit Date"))
	} else {
		rows = append(rows, row("ID", "Type", "Priority", "Status", "Submit Date"))
	}
	for _, j := range jobs {
		cols := []string{j.ID}
		if showNS {
			cols = append(cols, j.Namespace)
		}
		cols = append(cols, jobTypeString(j), fmt.Sprint(j.Priority),
			jobStatusString(j.Status, j.Stop), formatUnixNanoTime(j.SubmitTime))
		rows = append(rows, cols)
	}
	return formatList(rows)
}

func jobTypeString(j *api.JobListStub) string {
	t := j.Type
	if j.Periodic {
		t += "/periodic"
	}
	if j.ParameterizedJob {
		t += "/parameterized"
	}
	return t
}

func jobStatusString(status string, stop bool) string {
	if stop {
		return status + " (stopped)"
	}
	return status
}
