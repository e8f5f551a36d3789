package deployments

import (
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/blueprint-etl/blueprint/internal/suggest"
)

// overlapPolicies is the one table of overlap policies: the name the
// manifest and the CLI's --overlap use for each, in documentation order,
// and Temporal's value. Every list, parser and printer of the names reads it.
var overlapPolicies = []struct {
	name   string
	policy enumspb.ScheduleOverlapPolicy
}{
	{"skip", enumspb.SCHEDULE_OVERLAP_POLICY_SKIP},
	{"buffer_one", enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE},
	{"buffer_all", enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL},
	{"cancel_other", enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER},
	{"terminate_other", enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER},
	{"allow_all", enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL},
}

// OverlapNames lists the overlap policies by name, in documentation order.
func OverlapNames() []string {
	names := make([]string, len(overlapPolicies))
	for i, p := range overlapPolicies {
		names[i] = p.name
	}
	return names
}

// ParseOverlap reads an overlap policy by name; an unknown name is an error
// that lists the valid ones and suggests the closest.
func ParseOverlap(name string) (enumspb.ScheduleOverlapPolicy, error) {
	for _, p := range overlapPolicies {
		if p.name == name {
			return p.policy, nil
		}
	}
	names := OverlapNames()
	return enumspb.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED,
		fmt.Errorf("unknown overlap policy %q (valid: %s)%s", name, strings.Join(names, ", "), suggest.DidYouMean(name, names))
}

// OverlapName is the name of an overlap policy. Unspecified reads as the
// server reads it: skip.
func OverlapName(p enumspb.ScheduleOverlapPolicy) string {
	if p == enumspb.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED {
		p = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
	}
	for _, o := range overlapPolicies {
		if o.policy == p {
			return o.name
		}
	}
	return strings.ToLower(strings.TrimPrefix(p.String(), "SCHEDULE_OVERLAP_POLICY_"))
}
