// Package names holds the one rule for the names blueprint gives things:
// deployments, schedule slugs and IDs, and the manifest's named sources.
// A name is a DNS label, because it becomes a Temporal Schedule ID, a part
// of workflow IDs and of source:NAME URLs, and may end up in URLs and
// metric labels.
//
// It imports nothing of blueprint.
package names

import "regexp"

// Rule says in words what Valid accepts, for messages.
const Rule = "lower-case letters, digits and '-', at most 63 characters, starting and ending with a letter or digit"

var label = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Valid reports whether s follows Rule.
func Valid(s string) bool { return label.MatchString(s) }
