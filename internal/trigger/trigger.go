// Package trigger holds the one grammar of a deployment trigger's
// templated parameters ("{{ upstream.params.from }}"), renders them from
// the upstream run, and derives the downstream run's workflow ID. The
// manifest loader checks templates with Parse; the worker renders them
// with Render when the upstream run ends.
//
// It must not import `internal/store`, `internal/source`, `deployments` or
// `starter`: the manifest loader and the worker both use it.
package trigger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// Fields a template may name: upstream.FIELD, or upstream.params.NAME and
// upstream.result.NAME (a top-level parameter or result field).
var Fields = []string{"deployment", "workflow_id", "run_id", "status", "params.NAME", "result.NAME"}

// Ref is one {{ upstream.... }} reference: Field is one of deployment,
// workflow_id, run_id, status, params, result; Name the parameter or
// result field for params and result.
type Ref struct {
	Field string
	Name  string
}

func (r Ref) String() string {
	if r.Name != "" {
		return "upstream." + r.Field + "." + r.Name
	}
	return "upstream." + r.Field
}

var (
	refRe  = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)
	nameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,63}$`)
)

// IsTemplate reports whether s holds a template reference.
func IsTemplate(s string) bool { return strings.Contains(s, "{{") }

// Parse returns the references of a template, or an error naming the
// first bad one and what a reference may be.
func Parse(text string) ([]Ref, error) {
	var refs []Ref
	rest := refRe.ReplaceAllStringFunc(text, func(m string) string {
		refs = append(refs, Ref{Field: "\x00" + refRe.FindStringSubmatch(m)[1]})
		return ""
	})
	if strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
		return nil, fmt.Errorf("%q: an unclosed or stray {{ or }}", text)
	}
	for i, r := range refs {
		expr := strings.TrimPrefix(r.Field, "\x00")
		ref, err := parseRef(expr)
		if err != nil {
			return nil, err
		}
		refs[i] = ref
	}
	return refs, nil
}

func parseRef(expr string) (Ref, error) {
	bad := fmt.Errorf("{{ %s }}: a template names upstream.FIELD, FIELD one of %s", expr, strings.Join(Fields, ", "))
	parts := strings.Split(expr, ".")
	if len(parts) < 2 || parts[0] != "upstream" {
		return Ref{}, bad
	}
	switch f := parts[1]; {
	case len(parts) == 2 && slices.Contains([]string{"deployment", "workflow_id", "run_id", "status"}, f):
		return Ref{Field: f}, nil
	case len(parts) == 3 && (f == "params" || f == "result") && nameRe.MatchString(parts[2]):
		return Ref{Field: f, Name: parts[2]}, nil
	}
	return Ref{}, bad
}

// Upstream is what a template may use of the upstream run: its top-level
// parameters, and for a completed run its result's top-level fields.
type Upstream struct {
	Deployment string
	Run        runinfo.RunRef
	Status     string
	Params     map[string]json.RawMessage
	Result     map[string]json.RawMessage
}

// value is the JSON value of a reference.
func (u Upstream) value(r Ref) (json.RawMessage, error) {
	str := func(s string) json.RawMessage { b, _ := json.Marshal(s); return b }
	switch r.Field {
	case "deployment":
		return str(u.Deployment), nil
	case "workflow_id":
		return str(u.Run.WorkflowID), nil
	case "run_id":
		return str(u.Run.RunID), nil
	case "status":
		return str(u.Status), nil
	case "params":
		if v, ok := u.Params[r.Name]; ok {
			return v, nil
		}
		return nil, fmt.Errorf("{{ %s }}: the upstream run has no parameter %q", r, r.Name)
	case "result":
		if u.Status != runinfo.RunCompleted {
			return nil, fmt.Errorf("{{ %s }}: the upstream run %s, so it has no result", r, u.Status)
		}
		if v, ok := u.Result[r.Name]; ok {
			return v, nil
		}
		return nil, fmt.Errorf("{{ %s }}: the upstream run's result has no field %q", r, r.Name)
	}
	return nil, fmt.Errorf("{{ %s }}: not a reference", r)
}

// Render renders a template from the upstream run. A template that is one
// reference alone keeps the value's JSON type (a number stays a number, a
// list a list); one with text around its references is a string, each
// reference written as text (a string without its quotes).
func Render(text string, u Upstream) (json.RawMessage, error) {
	refs, err := Parse(text)
	if err != nil {
		return nil, err
	}
	if m := refRe.FindStringIndex(text); len(refs) == 1 && m[0] == 0 && m[1] == len(text) {
		return u.value(refs[0])
	}
	var out strings.Builder
	last := 0
	for i, m := range refRe.FindAllStringIndex(text, -1) {
		out.WriteString(text[last:m[0]])
		v, err := u.value(refs[i])
		if err != nil {
			return nil, err
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			out.WriteString(s)
		} else {
			out.Write(bytes.TrimSpace(v))
		}
		last = m[1]
	}
	out.WriteString(text[last:])
	return json.Marshal(out.String())
}

// WorkflowID is the workflow ID of the run that entry index of the
// downstream deployment's triggers starts after upstream: the same
// whichever worker ends the upstream run and however often, so that the
// server refuses a second start. It stays within the server's 1000
// characters: a long upstream ID is shortened to a hash.
func WorkflowID(downstream string, index int, upstream runinfo.RunRef) string {
	run := upstream.RunID
	if len(run) > 8 {
		run = run[:8]
	}
	id := fmt.Sprintf("%s-after-%s-%s-t%d", downstream, upstream.WorkflowID, run, index+1)
	if len(id) > 250 {
		h := sha256.Sum256([]byte(upstream.Key()))
		id = fmt.Sprintf("%s-after-%s-t%d", downstream, hex.EncodeToString(h[:12]), index+1)
	}
	return id
}
