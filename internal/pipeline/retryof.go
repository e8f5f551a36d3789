package pipeline

import "strings"

// RetryOf is the value of RetryOfSearchAttribute and MemoRetryOf on a
// retry: "<workflow ID>/<run ID>" of the run it retries. Both parts are
// needed: a workflow ID may have been used by several runs.
func RetryOf(workflowID, runID string) string { return workflowID + "/" + runID }

// ParseRetryOf splits a RetryOf value. A workflow ID may itself hold '/',
// a run ID (a UUID) never does, so the split is at the last one. ok is false
// for a value RetryOf cannot have written.
func ParseRetryOf(v string) (workflowID, runID string, ok bool) {
	i := strings.LastIndexByte(v, '/')
	if i <= 0 || i == len(v)-1 {
		return "", "", false
	}
	return v[:i], v[i+1:], true
}
