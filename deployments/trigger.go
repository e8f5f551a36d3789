package deployments

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/suggest"
	"github.com/blueprint-etl/blueprint/internal/trigger"
)

// Trigger limits and defaults. A trigger's delay is held by the server (a
// start delay), so it is bounded like a schedule's jitter: longer waits
// are a schedule's job.
const (
	MaxTriggers     = 10
	MaxTriggerDelay = 24 * time.Hour
)

// DefaultTriggerOn is the `on:` of a trigger that gives none: a run
// starts after its upstream run completed.
var DefaultTriggerOn = []string{runinfo.EventCompleted}

// triggerKeys are the keys of one triggers: entry, in documented order.
var triggerKeys = []string{"after", "on", "delay", "parameters"}

// TriggerSpec is one entry of a deployment's `triggers:` (Prefect's
// deployment triggers): start a run of the deployment after a run of the
// deployment After ends in one of On, Delay later.
type TriggerSpec struct {
	// After names the upstream deployment, another of the manifest.
	After string
	// On are the upstream run's end statuses that start a run: any of
	// runinfo.EventCompleted, EventFailed, EventCancelled (the run
	// statuses of the same names); DefaultTriggerOn when not given.
	On []string
	// Delay postpones the start, 0 to MaxTriggerDelay.
	Delay time.Duration
	// Parameters are the trigger's values that are not templates, in the
	// flow's canonical form (see Deployment.Parameters); they override the
	// deployment's own. Never nil in a loaded manifest.
	Parameters map[string]any
	// Templates are the values rendered from the upstream run when it
	// ends ("{{ upstream.params.from }}", see internal/trigger), by
	// parameter name. Never nil in a loaded manifest.
	Templates map[string]string
	// Line is where the entry starts in the manifest.
	Line int
}

// Downstream is a deployment that a trigger starts after another: the
// deployment and the index of the entry of its triggers: that names the
// upstream one.
type Downstream struct {
	Deployment Deployment
	Index      int
}

// Trigger returns the triggers: entry.
func (ds Downstream) Trigger() TriggerSpec { return ds.Deployment.Triggers[ds.Index] }

// Params returns the parameters a run the trigger starts is given before
// its templates are rendered: the flow's defaults, the deployment's
// parameters and the trigger's over them, named sources resolved (the
// worker has no manifest). Parameters given by a template are absent: the
// worker adds them. Errors are *badinput.Error; a loaded manifest has none.
func (ds Downstream) Params() (map[string]any, error) {
	d, t := ds.Deployment, ds.Trigger()
	f, err := d.Flow()
	if err != nil {
		return nil, err
	}
	merged := maps.Clone(d.Parameters)
	if merged == nil {
		merged = map[string]any{}
	}
	maps.Copy(merged, t.Parameters)
	for name := range t.Templates {
		delete(merged, name)
	}
	in, err := d.Input(merged)
	if err != nil {
		return nil, fmt.Errorf("deployment %q, trigger after %s: %w", d.Name, t.After, err)
	}
	out := f.Params.Complete(in)
	for name := range t.Templates {
		delete(out, name)
	}
	return out, nil
}

// TriggersAfter lists the triggers that start after a run of the
// deployment upstream ends: every deployment whose triggers: name it, in
// manifest order, each with the entry that names it. The loader refuses
// cycles, so following them from any deployment ends.
func (m *Manifest) TriggersAfter(upstream string) []Downstream {
	var out []Downstream
	for _, d := range m.Deployments {
		for j, t := range d.Triggers {
			if t.After == upstream {
				out = append(out, Downstream{Deployment: d, Index: j})
			}
		}
	}
	return out
}

// Downstream lists the triggers that start after a run of d ends
// (Manifest.TriggersAfter of d's manifest); none for a Deployment made by
// hand.
func (d Deployment) Downstream() []Downstream {
	if d.manifest == nil {
		return nil
	}
	return d.manifest.TriggersAfter(d.Name)
}

// String renders a trigger on one line, for the CLI: `after
// production-etl on completed, failed, 10m0s later, parameters:
// {"from":"{{ upstream.params.from }}"}`.
func (t TriggerSpec) String() string { return "after " + t.After + " " + t.When() }

// When is String without the upstream deployment: "on completed, 10m0s
// later, parameters: {...}", what the CLI shows after either deployment.
func (t TriggerSpec) When() string {
	s := "on " + strings.Join(t.On, ", ")
	if t.Delay > 0 {
		s += ", " + t.Delay.String() + " later"
	}
	if p := t.FormatParams(); p != "" {
		s += ", parameters: " + p
	}
	return s
}

// FormatParams renders the trigger's parameters, static and templated,
// as FormatParams does ("" for none).
func (t TriggerSpec) FormatParams() string {
	all := map[string]any{}
	maps.Copy(all, t.Parameters)
	for k, v := range t.Templates {
		all[k] = v
	}
	if len(all) == 0 {
		return ""
	}
	return FormatParams(all)
}

// parsedTrigger is a triggers: entry with what the rest of the manifest
// is needed to check: its field, the lines of its keys and its parameters.
type parsedTrigger struct {
	TriggerSpec
	field     string
	afterLine int
	onGiven   bool
	params    *entry
}

// triggers parses a deployment's triggers: list, each entry alone; what
// needs the other deployments is checked by checkTriggers.
func (p *parser) triggers(field string, e entry) []parsedTrigger {
	n := e.val
	if n.Kind != yaml.SequenceNode {
		p.add(n.Line, field, "must be a list of triggers such as [{after: production-etl, on: [completed]}], got %s", describe(n))
		return nil
	}
	if len(n.Content) > MaxTriggers {
		p.add(e.key.Line, field, "%d triggers is more than the %d allowed", len(n.Content), MaxTriggers)
		return nil
	}
	var out []parsedTrigger
	for i, item := range n.Content {
		if p.full() {
			return nil
		}
		item = resolve(item)
		f := fmt.Sprintf("%s[%d]", field, i)
		if item.Kind != yaml.MappingNode {
			p.add(item.Line, f, "must be a mapping such as {after: production-etl, on: [completed]}, got %s", describe(item))
			out = append(out, parsedTrigger{field: f}) // keeps the indexes
			continue
		}
		t := parsedTrigger{field: f, TriggerSpec: TriggerSpec{Line: item.Line, On: slices.Clone(DefaultTriggerOn), Parameters: map[string]any{}, Templates: map[string]string{}}}
		hasAfter := false
		for _, te := range p.entries(f, item) {
			tf := join(f, te.name)
			switch te.name {
			case "after":
				hasAfter = true
				if v, ok := p.scalar(tf, te.val); ok {
					t.After, t.afterLine = v, te.val.Line
				}
			case "on":
				t.onGiven = true
				t.On = p.events(tf, te.val)
			case "delay":
				t.Delay, _ = p.duration(tf, te.val, 0, MaxTriggerDelay)
			case "parameters":
				t.params = &te
			default:
				p.unknownKey(te, f, triggerKeys)
			}
		}
		if !hasAfter {
			p.add(item.Line, f+".after", "missing; name the deployment whose runs start this one, e.g. after: production-etl")
		}
		out = append(out, t)
	}
	return out
}

// pendingTriggers are a deployment's parsed triggers, checked once every
// deployment is known.
type pendingTriggers struct {
	triggers  []parsedTrigger
	paramsOK  bool // its own parameters have no problems
	knownFlow bool
}

// checkTriggers checks the triggers of every deployment against the
// others: the upstream deployment exists, the parameters are the
// downstream flow's and the templates name what the upstream run has, no
// two entries start the same run, and no cycle. It sets each deployment's
// Triggers. pending is by position in m.Deployments.
func (p *parser) checkTriggers(m *Manifest, pending []pendingTriggers) {
	index := map[string]int{}
	for i, d := range m.Deployments {
		index[d.Name] = i
	}
	names := m.Names()
	// edges[u] lists, for the upstream u, the downstream deployments and
	// the entry naming u; only entries whose after: is good are edges.
	type edge struct {
		down  int
		entry *parsedTrigger
	}
	edges := make([][]edge, len(m.Deployments))
	for i := range m.Deployments {
		d := &m.Deployments[i]
		pt := pending[i].triggers
		if len(pt) == 0 {
			continue
		}
		d.Triggers = make([]TriggerSpec, 0, len(pt))
		seen := map[string]*parsedTrigger{} // "after/event" to the first entry
		for j := range pt {
			t := &pt[j]
			if t.After == "" {
				d.Triggers = append(d.Triggers, t.TriggerSpec)
				continue
			}
			af := join(t.field, "after")
			up, known := index[t.After]
			switch {
			case t.After == d.Name:
				p.add(t.afterLine, af, "%q is this deployment; a deployment cannot start after itself (a run would start the next one forever)", t.After)
				known = false
			case !known:
				p.add(t.afterLine, af, "unknown deployment %q (valid: %s)%s", t.After, strings.Join(names, ", "), suggest.DidYouMean(t.After, names))
			}
			for _, ev := range t.On {
				key := t.After + "/" + ev
				if first, dup := seen[key]; dup {
					p.add(t.afterLine, af, "%s after a %s run of %s is started by %s too (line %d); give one entry every event it wants", d.Name, ev, t.After, first.field, first.Line)
					continue
				}
				seen[key] = t
			}
			if known {
				edges[up] = append(edges[up], edge{i, t})
				if t.params != nil && pending[i].knownFlow {
					p.triggerParams(*d, pending[i].paramsOK, m.Deployments[up], t)
				}
			}
			d.Triggers = append(d.Triggers, t.TriggerSpec)
		}
	}

	// A cycle would make every run start the next forever: each is
	// reported once, at the after: that closes it.
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]int, len(m.Deployments))
	var path []int
	var visit func(u int)
	visit = func(u int) {
		state[u] = onPath
		path = append(path, u)
		for _, e := range edges[u] {
			switch state[e.down] {
			case unseen:
				visit(e.down)
			case onPath:
				start := slices.Index(path, e.down)
				cycle := make([]string, 0, len(path)-start+1)
				for _, k := range path[start:] {
					cycle = append(cycle, m.Deployments[k].Name)
				}
				cycle = append(cycle, m.Deployments[e.down].Name)
				p.add(e.entry.afterLine, join(e.entry.field, "after"), "a cycle of triggers: %s (each name starts after the one before it, so one run would start runs forever)", strings.Join(cycle, " -> "))
			}
		}
		path = path[:len(path)-1]
		state[u] = done
	}
	for u := range m.Deployments {
		if state[u] == unseen {
			visit(u)
		}
	}
}

// triggerParams checks a trigger's parameters: the names are the
// downstream flow's, the values that are not templates are checked like
// the deployment's own (over them), and each template names what the
// upstream run has (its flow's parameters; a result only when the trigger
// starts on completed alone). A template that is one reference to a
// parameter of the upstream flow must have that parameter's JSON type.
func (p *parser) triggerParams(d Deployment, paramsOK bool, up Deployment, t *parsedTrigger) {
	field := join(t.field, "parameters")
	n := t.params.val
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, field, "must be a mapping of parameter names to values or templates (e.g. from: \"{{ upstream.params.from }}\"), got %s", describe(n))
		return
	}
	f := p.flows.Lookup(d.Workflow)
	upFlow := p.flows.Lookup(up.Workflow)
	if f == nil || upFlow == nil {
		return
	}
	static := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
	templated := map[string]bool{}
	for _, pe := range p.entries(field, n) {
		pf := join(field, pe.name)
		if pe.val.Kind != yaml.ScalarNode || pe.val.ShortTag() != "!!str" || !trigger.IsTemplate(pe.val.Value) {
			if hasTemplate(pe.val) {
				p.add(pe.val.Line, pf, "a template must be a parameter's whole value (a string such as \"{{ upstream.params.from }}\"), not inside a list or mapping")
				continue
			}
			static.Content = append(static.Content, pe.key, pe.val)
			continue
		}
		templated[pe.name] = true
		param, ok := f.Params.Lookup(pe.name)
		if !ok {
			p.add(pe.key.Line, pf, "%v", flow.UnknownError(pe.name, f.Params.Names()))
			continue
		}
		if p.template(pf, pe.val, param, upFlow, up.Name, t) {
			t.Templates[pe.name] = pe.val.Value
		}
	}
	if len(static.Content) == 0 {
		return
	}
	base := d.Parameters
	if !paramsOK {
		base = nil
	}
	values, ok := p.parametersExcept(field, entry{name: "parameters", key: t.params.key, val: static}, f, base, templated)
	if ok {
		t.Parameters = values
	}
}

// template checks one templated parameter value; ok when it is good.
func (p *parser) template(field string, n *yaml.Node, param *flow.Param, upFlow *flow.Flow, upName string, t *parsedTrigger) bool {
	refs, err := trigger.Parse(n.Value)
	if err != nil {
		p.add(n.Line, field, "%v", err)
		return false
	}
	good := true
	for _, r := range refs {
		switch r.Field {
		case "params":
			if _, ok := upFlow.Params.Lookup(r.Name); !ok {
				p.add(n.Line, field, "{{ %s }}: the upstream deployment %s (flow %s) has no parameter %q (valid: %s)%s", r, upName, upFlow.Name, r.Name,
					strings.Join(upFlow.Params.Names(), ", "), suggest.DidYouMean(r.Name, upFlow.Params.Names()))
				good = false
			}
		case "result":
			if !slices.Equal(t.On, []string{runinfo.EventCompleted}) {
				p.add(n.Line, field, "{{ %s }}: only a completed run has a result; use it in a trigger with on: [completed] alone (this one is on: [%s])", r, strings.Join(t.On, ", "))
				good = false
			}
		}
	}
	if !good {
		return false
	}
	// The rendered type: a lone reference keeps its value's (as
	// trigger.Render renders it), anything else is a string.
	got := "string"
	lone := len(refs) == 1 && strings.HasPrefix(n.Value, "{{") && strings.HasSuffix(n.Value, "}}") && strings.Count(n.Value, "{{") == 1
	if lone {
		switch r := refs[0]; r.Field {
		case "params":
			up, _ := upFlow.Params.Lookup(r.Name)
			got = jsonType(up.Kind)
		case "result":
			got = "" // known when the run ends
		}
	}
	if want := jsonType(param.Kind); got != "" && want != "" && got != want && (got != "integer" || want != "number") {
		what := "renders a string"
		if lone {
			what = fmt.Sprintf("is %s (%s)", article(got), refs[0])
		}
		kind := article(want)
		if string(param.Kind) != want {
			kind += " (" + string(param.Kind) + ")"
		}
		p.add(n.Line, field, "%q %s, but %s is %s", n.Value, what, param.Name, kind)
		return false
	}
	return true
}

// jsonType is the JSON type of a parameter kind's values ("" for a kind
// that may be written in more than one, such as a text value).
func jsonType(k flow.Kind) string {
	switch k {
	case flow.String, flow.Enum, flow.Duration, flow.DateKind, flow.DateTime:
		return "string"
	case flow.Integer:
		return "integer"
	case flow.Number:
		return "number"
	case flow.Boolean:
		return "boolean"
	case flow.StringList:
		return "array"
	case flow.Object:
		return "object"
	}
	return ""
}

func article(jsonType string) string {
	switch jsonType {
	case "integer", "array", "object":
		return "an " + jsonType
	}
	return "a " + jsonType
}

// hasTemplate reports whether a list or mapping holds a template string.
func hasTemplate(n *yaml.Node) bool {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode {
		return n.ShortTag() == "!!str" && trigger.IsTemplate(n.Value)
	}
	for _, c := range n.Content {
		if c != n && hasTemplate(c) {
			return true
		}
	}
	return false
}
