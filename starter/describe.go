package starter

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/internal/redact"
	"github.com/blueprint-etl/blueprint/internal/text"
)

// Size limits of a run's description. The server takes a few hundred
// bytes of summary and 20 kB of details; a summary is read at a glance in
// the workflows list, so it stays short.
const (
	MaxSummaryBytes = 200
	MaxDetailsBytes = 16 << 10
)

// Description is what the Temporal Web UI and CLI show of a run before
// its workflow says anything: a one-line summary in the workflows list and
// Markdown details on the run's page. Both are fixed at the start.
type Description struct {
	// Summary is "deployment · name=value · ...", at most MaxSummaryBytes.
	Summary string
	// Details lists the deployment, its description, the flow and every
	// parameter with its value, at most MaxDetailsBytes.
	Details string
}

// Describe builds the description of a run of d with params, the complete
// parameter document the run receives. Every start uses it (blueprint run,
// runs retry, the schedules), so a run looks the same however it started.
//
// Values are shown with the credentials of URLs hidden; webhook URLs and
// auth values are never parameters, so they cannot appear. Parameters the
// CLI fills in (a named source's definition) are not shown: the
// parameter that names the source is.
func Describe(d deployments.Deployment, params map[string]any) Description {
	workflow, queue := d.Workflow, d.TaskQueue
	var names []string
	if f, err := d.Flow(); err == nil {
		workflow = f.Name
		if queue == "" {
			queue = f.TaskQueue
		}
		for _, n := range f.Params.Names() {
			if _, ok := params[n]; ok {
				names = append(names, n)
			}
		}
	}
	if names == nil { // no schema to order by: every key, sorted
		for k := range params {
			names = append(names, k)
		}
		slices.Sort(names)
	}

	summary := []string{d.Name}
	var details strings.Builder
	fmt.Fprintf(&details, "**Deployment:** %s\n\n", d.Name)
	if desc := strings.TrimSpace(d.Description); desc != "" {
		fmt.Fprintf(&details, "%s\n\n", desc)
	}
	if len(d.Tags) > 0 {
		fmt.Fprintf(&details, "**Tags:** %s\n\n", strings.Join(d.Tags, ", "))
	}
	fmt.Fprintf(&details, "**Flow:** %s on task queue %s\n\n", workflow, queue)
	details.WriteString("**Parameters:**\n")
	if len(names) == 0 {
		details.WriteString("\n(none)\n")
	}
	for _, n := range names {
		v := showValue(params[n])
		summary = append(summary, n+"="+v)
		fmt.Fprintf(&details, "\n- %s: %s", n, codeSpan(v))
	}
	return Description{
		Summary: truncate(strings.Join(summary, " · "), MaxSummaryBytes),
		Details: truncate(strings.TrimRight(details.String(), "\n"), MaxDetailsBytes),
	}
}

// showValue renders a parameter value on one line: a plain string as it
// is, anything else (or a string with control characters) as JSON, with
// credentials in URLs hidden.
func showValue(v any) string {
	if s, ok := redact.Value(v).(string); ok {
		if q := strconv.Quote(s); q[1:len(q)-1] == s && s != "" {
			return s
		}
	}
	return deployments.FormatValue(v)
}

// codeSpan writes s as inline Markdown code, fenced with more backticks
// than s holds in a row so that s cannot end it.
func codeSpan(s string) string {
	run, longest := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if longest > 0 {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// truncate cuts s to at most n bytes on a rune boundary, ending with "…"
// when it cuts.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	return text.Cut(s, n-len(mark)) + mark
}
