package deployments

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/names"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/suggest"
)

// Parse parses and validates a manifest whose deployments start the flows
// of reg. path is used in messages only. Every problem is reported, one per
// line, as FILE:LINE: FIELD: PROBLEM in a *ManifestError wrapped in a
// *badinput.Error.
//
// The YAML is walked as a yaml.Node tree rather than decoded into structs:
// that keeps the line of every value for messages, rejects unknown keys with
// a suggestion and keeps parameter values in their declared types.
func Parse(reg *flow.Registry, path string, data []byte) (*Manifest, error) {
	if path == "" {
		path = "manifest"
	}
	p := &parser{file: path, flows: reg}
	m := p.parse(data)
	if len(p.problems) > 0 {
		slices.SortStableFunc(p.problems, func(a, b Problem) int { return a.Line - b.Line })
		return nil, &badinput.Error{Err: &ManifestError{Problems: p.problems, Omitted: p.omitted}}
	}
	m.Path = path
	return m, nil
}

type parser struct {
	file   string
	flows  *flow.Registry
	srcs   Sources
	broken []string // sources with problems, already reported
	dsets  Datasets
	// brokenDatasets are datasets with problems, already reported.
	brokenDatasets []string
	problems       []Problem
	omitted        int
}

// maxCollected bounds the problems kept: YAML aliases can make a small
// file repeat one mistake millions of times.
const maxCollected = 100

func (p *parser) add(line int, field, format string, args ...any) {
	if p.full() {
		p.omitted++
		return
	}
	p.problems = append(p.problems, Problem{File: p.file, Line: max(line, 1), Field: field, Msg: fmt.Sprintf(format, args...)})
}

// full reports that no more problems are kept; the walk stops early then.
func (p *parser) full() bool { return len(p.problems) >= maxCollected }

// yamlErrLine matches yaml.v3's "yaml: line N: message".
var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (p *parser) syntaxError(err error) {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if m := yamlErrLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if strings.HasPrefix(m[2], "did not find expected") {
			// yaml.v3 reports the parser's errors at the 0-based line where
			// the enclosing block starts, not where the problem is.
			p.add(line+1, "", "invalid YAML: %s in the block starting on this line (check the indentation below it)", m[2])
			return
		}
		p.add(line, "", "invalid YAML: %s", m[2])
		return
	}
	p.add(1, "", "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

const emptyMsg = "the manifest is empty; it needs a `deployments:` list with at least one deployment"

func (p *parser) parse(data []byte) *Manifest {
	m := &Manifest{}
	if len(bytes.TrimSpace(data)) == 0 {
		p.add(1, "", emptyMsg)
		return m
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.add(1, "", emptyMsg)
		} else {
			p.syntaxError(err)
		}
		return m
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		p.syntaxError(err)
		return m
	default:
		p.add(extra.Line, "", "a second YAML document (after `---`); the manifest must be a single document")
		return m
	}

	root := resolve(&doc)
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			p.add(1, "", emptyMsg)
			return m
		}
		root = resolve(root.Content[0])
	}
	if isNull(root) {
		p.add(root.Line, "", emptyMsg)
		return m
	}
	if root.Kind != yaml.MappingNode {
		p.add(root.Line, "", "the manifest must be a mapping with a `deployments:` list, got %s", describe(root))
		return m
	}

	var list *yaml.Node
	for _, e := range p.entries("", root) {
		switch e.name {
		case "deployments":
			list = e.val
		case "sources":
			// Parsed first, wherever they are, since deployments refer to them.
			p.srcs = p.sources(e.val)
		case "datasets":
			// Parsed first too: deployments name them.
			p.dsets = p.datasets(e.val)
		default:
			p.unknownKey(e, "", manifestKeys)
		}
	}
	switch {
	case list == nil:
		p.add(root.Line, "deployments", "missing; the manifest needs a `deployments:` list with at least one deployment")
	case isNull(list) || (list.Kind == yaml.SequenceNode && len(list.Content) == 0):
		p.add(list.Line, "deployments", "no deployments; add at least one (see %s)", DefaultPath)
	case list.Kind != yaml.SequenceNode:
		p.add(list.Line, "deployments", "must be a list of deployments (items starting with `- name:`), got %s", describe(list))
	default:
		p.deployments(m, list)
	}
	if p.dsets == nil {
		p.dsets = Datasets{}
	}
	m.Sources, m.Datasets, m.Flows = p.srcs, p.dsets, p.flows
	for i := range m.Deployments {
		d := &m.Deployments[i]
		d.Sources, d.Datasets, d.Flows, d.manifest = p.srcs, p.dsets, p.flows, m
	}
	return m
}

func (p *parser) deployments(m *Manifest, list *yaml.Node) {
	type seen struct{ index, line int }
	names := map[string]seen{}
	// ids holds every schedule ID but the deployment names: NAME-SLUG may
	// be another deployment's name.
	type owner struct {
		field string
		line  int
	}
	ids := map[string]owner{}
	var pending []pendingTriggers // by position in m.Deployments
	defer func() { p.checkTriggers(m, pending) }()
	for i, item := range list.Content {
		if p.full() {
			p.omitted++ // at least this one
			return
		}
		item = resolve(item)
		d, nameLine, pt, ok := p.deployment(i, item)
		if !ok {
			continue
		}
		field := fmt.Sprintf("deployments[%d].name", i)
		if first, dup := names[d.Name]; dup {
			p.add(nameLine, field, "duplicate name %q: deployments[%d] at line %d has it too (names must be unique: each is a schedule ID)", d.Name, first.index, first.line)
			continue
		}
		if o, dup := ids[d.Name]; dup {
			p.add(nameLine, field, "name %q is the ID of the schedule %s (line %d); rename one of them (schedule IDs must be unique)", d.Name, o.field, o.line)
			continue
		}
		names[d.Name] = seen{i, nameLine}
		dupID := false
		for j, s := range d.Schedules[min(1, len(d.Schedules)):] {
			id, sf := d.ScheduleID(j+1), fmt.Sprintf("deployments[%d].schedules[%d]", i, j+1)
			if first, dup := names[id]; dup {
				p.add(s.Line, sf, "schedule ID %q is the name of deployments[%d] (line %d); change the slug (schedule IDs must be unique)", id, first.index, first.line)
				dupID = true
			} else if o, dup := ids[id]; dup {
				p.add(s.Line, sf, "schedule ID %q is the ID of the schedule %s (line %d) too; change a slug (schedule IDs must be unique)", id, o.field, o.line)
				dupID = true
			}
			ids[id] = owner{sf, s.Line}
		}
		if dupID {
			continue
		}
		m.Deployments = append(m.Deployments, d)
		pending = append(pending, pt)
	}
}

// deployment parses one list item; ok is false when it has no usable name.
// Its triggers are returned to be checked once every deployment is known.
func (p *parser) deployment(i int, n *yaml.Node) (d Deployment, nameLine int, pt pendingTriggers, ok bool) {
	prefix := fmt.Sprintf("deployments[%d]", i)
	d = Deployment{Line: n.Line, Workflow: DefaultWorkflow, Parameters: map[string]any{}}
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, prefix, "must be a mapping with at least a `name:`, got %s", describe(n))
		return d, 0, pt, false
	}
	hasName, nameKey, knownFlow := false, false, true
	var params *entry
	var scheds []parsedSchedule
	var schedKey *entry // the first of schedule: and schedules:
	var limitKey, strategyKey *entry
	for _, e := range p.entries(prefix, n) {
		field := join(prefix, e.name)
		switch e.name {
		case "name":
			nameKey = true
			v, good := p.scalar(field, e.val)
			if !good {
				continue
			}
			nameLine = e.val.Line
			if !names.Valid(v) {
				p.add(e.val.Line, field, "%q is not a valid name (%s)", v, names.Rule)
				continue
			}
			d.Name, hasName = v, true
		case "description":
			d.Description, _ = p.scalar(field, e.val)
		case "tags":
			d.Tags = p.tags(field, e.val)
		case "workflow":
			v, good := p.scalar(field, e.val)
			names := p.flows.Names()
			switch {
			case !good:
				knownFlow = false
			case !slices.Contains(names, v):
				p.add(e.val.Line, field, "unknown workflow %q (valid: %s)%s", v, strings.Join(names, ", "), suggest.DidYouMean(v, names))
				knownFlow = false
			default:
				d.Workflow = v
			}
		case "task_queue":
			v, good := p.scalar(field, e.val)
			switch {
			case !good:
			case strings.TrimSpace(v) == "":
				p.add(e.val.Line, field, "is empty (leave the key out to use the flow's task queue)")
			case v != strings.TrimSpace(v):
				p.add(e.val.Line, field, "%q has leading or trailing white space", v)
			default:
				d.TaskQueue = v
			}
		case "parameters":
			params = &e
		case "schedule", "schedules":
			if schedKey != nil {
				p.add(e.key.Line, field, "a deployment has either `schedule:` (one) or `schedules:` (a list), not both (%s: is at line %d)", schedKey.name, schedKey.key.Line)
				continue
			}
			schedKey = &e
			if e.name == "schedule" {
				if s, ok := p.schedule(field, e.key.Line, e.val); ok {
					scheds = append(scheds, s)
				}
			} else {
				scheds = p.scheduleList(field, e)
			}
		case "notify":
			d.Notify = p.notify(field, e)
		case "triggers":
			pt.triggers = p.triggers(field, e)
		case "concurrency_limit":
			limitKey = &e
			d.ConcurrencyLimit = p.concurrencyLimit(field, e.val)
		case "collision_strategy":
			strategyKey = &e
			d.CollisionStrategy = p.collisionStrategy(field, e.val)
		default:
			p.unknownKey(e, prefix, deploymentKeys)
		}
	}
	switch {
	case strategyKey != nil && limitKey == nil:
		p.add(strategyKey.key.Line, join(prefix, "collision_strategy"), "has no effect without concurrency_limit: (add concurrency_limit: 1, or leave collision_strategy out)")
		d.CollisionStrategy = ""
	case d.ConcurrencyLimit > 0 && d.CollisionStrategy == "" && strategyKey == nil:
		d.CollisionStrategy = runinfo.CollisionStrategies[0]
	}
	// The parameters are checked against the flow's, which the workflow
	// key (wherever it is in the mapping) names; a schedule's over the
	// deployment's.
	paramsOK := true
	if f := p.flows.Lookup(d.Workflow); f != nil {
		if d.TaskQueue == "" {
			d.TaskQueue = f.TaskQueue
		}
		if params != nil && knownFlow {
			var values map[string]any
			if values, paramsOK = p.parameters(join(prefix, "parameters"), *params, f, nil); paramsOK {
				d.Parameters = values
			}
		}
		for i, ps := range scheds {
			if ps.params != nil && knownFlow {
				base := d.Parameters
				if !paramsOK {
					base = nil // checked alone: the deployment's own problems are reported already
				}
				scheds[i].Parameters, _ = p.parameters(join(ps.field, "parameters"), *ps.params, f, base)
			}
		}
	}
	for i := range scheds {
		if scheds[i].Slug == "" {
			scheds[i].Slug = DefaultSlug(i)
		}
		d.Schedules = append(d.Schedules, scheds[i].Schedule)
	}
	if hasName {
		p.scheduleIDs(d, scheds)
	}
	if !nameKey {
		p.add(n.Line, prefix+".name", "missing; every deployment needs a name (%s), e.g. production-etl", names.Rule)
	}
	pt.paramsOK, pt.knownFlow = paramsOK, knownFlow && p.flows.Lookup(d.Workflow) != nil
	return d, nameLine, pt, hasName
}

// parsedSchedule is a schedule with what the rest of the deployment is
// needed to check: its field path, its parameters and its slug's line.
type parsedSchedule struct {
	Schedule
	field    string
	params   *entry
	slugLine int
}

// scheduleList parses `schedules:`, a list of schedules.
func (p *parser) scheduleList(field string, e entry) []parsedSchedule {
	n := e.val
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.add(n.Line, field, "must be a list of schedules (items such as `- cron: \"0 9 * * *\"` or `- interval: 15m`), got %s", describe(n))
		return nil
	}
	var out []parsedSchedule
	for i, item := range n.Content {
		if p.full() {
			return nil
		}
		item = resolve(item)
		if s, ok := p.schedule(fmt.Sprintf("%s[%d]", field, i), item.Line, item); ok {
			out = append(out, s)
		}
	}
	return out
}

// scheduleIDs checks that the slugs of a deployment's schedules differ and
// that every schedule ID is a valid name. IDs shared between deployments
// are checked by deployments.
func (p *parser) scheduleIDs(d Deployment, scheds []parsedSchedule) {
	seen := map[string]int{}
	for i, ps := range scheds {
		line := cmp.Or(ps.slugLine, ps.Line)
		if first, dup := seen[ps.Slug]; dup {
			p.add(line, join(ps.field, "slug"), "duplicate slug %q: %s has it too (the slugs of a deployment's schedules must differ)", ps.Slug, scheds[first].field)
			continue
		}
		seen[ps.Slug] = i
		if id := d.ScheduleID(i); !names.Valid(id) {
			p.add(line, join(ps.field, "slug"), "schedule ID %q (deployment name, '-', slug) is not a valid name (%s); shorten the slug or the name", id, names.Rule)
		}
	}
}

func (p *parser) tags(field string, n *yaml.Node) []string {
	if n.Kind != yaml.SequenceNode {
		p.add(n.Line, field, "must be a list of strings such as [etl, orders], got %s", describe(n))
		return nil
	}
	tags := []string{}
	seen := map[string]bool{}
	for j, t := range n.Content {
		if p.full() {
			return nil
		}
		t = resolve(t)
		tf := fmt.Sprintf("%s[%d]", field, j)
		v, ok := p.scalar(tf, t)
		switch {
		case !ok:
		case strings.TrimSpace(v) == "":
			p.add(t.Line, tf, "is empty")
		case seen[v]:
			p.add(t.Line, tf, "duplicate tag %q", v)
		default:
			seen[v] = true
			tags = append(tags, v)
		}
	}
	return tags
}

// parameters checks parameters against a flow's schema: unknown names,
// values of the wrong type and broken rules, each reported at the line of
// the value. They are checked over base (the deployment's, for a
// schedule's own), whose values they replace; a nil base checks them
// alone. It returns the values in canonical form, and whether they are
// free of problems.
func (p *parser) parameters(field string, e entry, f *flow.Flow, base map[string]any) (map[string]any, bool) {
	return p.parametersExcept(field, e, f, base, nil)
}

// parametersExcept is parameters, leaving out the problems of the
// parameters in later (a trigger's templates, known when a run ends).
func (p *parser) parametersExcept(field string, e entry, f *flow.Flow, base map[string]any, later map[string]bool) (map[string]any, bool) {
	n := e.val
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, field, "must be a mapping of parameter names to values (e.g. batch_size: 1000), got %s", describe(n))
		return nil, false
	}
	nodes := map[string]*yaml.Node{}
	raw := map[string]any{}
	for _, pe := range p.entries(field, n) {
		if _, ok := f.Params.Lookup(pe.name); !ok {
			p.add(pe.key.Line, join(field, pe.name), "%v", flow.UnknownError(pe.name, f.Params.Names()))
			continue
		}
		if isNull(pe.val) {
			p.add(pe.val.Line, join(field, pe.name), "has no value (give one, or leave the key out)")
			continue
		}
		nodes[pe.name] = pe.val
		raw[pe.name] = p.value(join(field, pe.name), pe.val)
	}
	values, problems := f.Params.Normalize(raw)
	for _, pr := range problems {
		msg := pr.Msg
		if pr.Value != "" {
			msg = pr.Value + " " + msg
		}
		p.add(lineOf(nodes, pr.Path, e.key.Line), paramField(field, pr), "%s", msg)
	}
	if len(problems) > 0 {
		return nil, false
	}
	merged := maps.Clone(base)
	if merged == nil {
		merged = map[string]any{}
	}
	maps.Copy(merged, values)
	if usesBroken(f.Params, merged, p.broken) || usesBrokenDataset(f.Params, merged, p.brokenDatasets) {
		return values, false // the source's or dataset's own problems are reported at their lines
	}
	in, err := resolveSources(f.Params, merged, p.srcs)
	if err == nil {
		in, err = resolveDataset(f.Params, in, p.dsets)
	}
	if err == nil {
		_, err = f.Params.Check(in)
	}
	if err != nil {
		var ve *flow.ValidationError
		if !errors.As(err, &ve) {
			p.add(e.key.Line, field, "%v", err)
			return values, false
		}
		reported := false
		for _, pr := range ve.Problems {
			if pr.Path != "" && later[pr.Top()] {
				continue
			}
			reported = true
			pr = blameSource(f.Params, merged, pr)
			p.add(lineOf(nodes, pr.Path, e.key.Line), paramField(field, pr), "invalid value: %s", pr)
		}
		return values, !reported
	}
	return values, true
}

// paramField is the field path of a parameter problem:
// deployments[0].parameters.sources[1], or the parameters themselves for a
// problem of the whole document.
func paramField(field string, pr flow.Problem) string {
	if pr.Path == "" {
		return field
	}
	return join(field, pr.Top()) + strings.TrimPrefix(pr.Path, pr.Top())
}

// value converts a YAML value to what flow.Schema.Normalize reads: YAML's
// own types, numbers kept as written so that a message can show them.
// Quoted numbers stay strings: a manifest says what it means.
func (p *parser) value(field string, n *yaml.Node) any {
	switch n.Kind {
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			out = append(out, p.value(field, resolve(item)))
		}
		return out
	case yaml.MappingNode:
		out := map[string]any{}
		for _, e := range p.entries(field, n) {
			out[e.name] = p.value(join(field, e.name), e.val)
		}
		return out
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil
		case "!!bool":
			var b bool
			if n.Decode(&b) == nil {
				return b
			}
		case "!!int":
			var i int64
			if n.Decode(&i) == nil {
				return i
			}
			return json.Number(clean(n.Value)) // out of range: reported as such
		case "!!float":
			if digitsRE.MatchString(n.Value) {
				return json.Number(n.Value) // an integer too large for int64
			}
			var f float64
			if n.Decode(&f) == nil {
				return f
			}
		}
		return n.Value
	}
	return describe(n)
}

// lineOf finds the line of the value at a problem's path ("sources[2]",
// "window.start"), or def.
func lineOf(nodes map[string]*yaml.Node, path string, def int) int {
	top, rest, _ := strings.Cut(path, ".")
	name, index, hasIndex := strings.Cut(top, "[")
	n := nodes[name]
	if n == nil {
		return def
	}
	if hasIndex && n.Kind == yaml.SequenceNode {
		if i, err := strconv.Atoi(strings.TrimSuffix(index, "]")); err == nil && i < len(n.Content) {
			n = resolve(n.Content[i])
		}
	}
	if rest != "" && n.Kind == yaml.MappingNode {
		sub := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			sub[n.Content[i].Value] = resolve(n.Content[i+1])
		}
		return lineOf(sub, rest, n.Line)
	}
	return n.Line
}

// schedule parses one schedule mapping: the value of `schedule:` or an
// item of `schedules:`; line is where it starts. The parameters are
// returned unparsed: they are checked over the deployment's.
func (p *parser) schedule(field string, line int, n *yaml.Node) (parsedSchedule, bool) {
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, field, "must be a mapping with a `cron:` or an `interval:` key, got %s", describe(n))
		return parsedSchedule{}, false
	}
	ps := parsedSchedule{field: field, Schedule: Schedule{
		Timezone:      DefaultTimezone,
		Location:      time.UTC,
		Overlap:       DefaultOverlap,
		CatchupWindow: DefaultCatchupWindow,
		Line:          line,
	}}
	s := &ps.Schedule
	var cronKey, intervalKey, offsetKey, pausedKey *entry
	for _, se := range p.entries(field, n) {
		sf := join(field, se.name)
		switch se.name {
		case "cron":
			cronKey = &se
			v, ok := p.scalar(sf, se.val)
			if !ok {
				continue
			}
			if _, err := ParseCron(v); err != nil {
				p.add(se.val.Line, sf, "%v", err)
				continue
			}
			s.Cron = strings.TrimSpace(v)
		case "interval":
			intervalKey = &se
			if d, ok := p.duration(sf, se.val, MinInterval, 0); ok && p.wholeSeconds(sf, se.val, d) {
				s.Interval = d
			}
		case "offset":
			offsetKey = &se
			if d, ok := p.duration(sf, se.val, 0, 0); ok && p.wholeSeconds(sf, se.val, d) {
				s.Offset = d
			}
		case "slug":
			v, ok := p.scalar(sf, se.val)
			if !ok {
				continue
			}
			ps.slugLine = se.val.Line
			if !names.Valid(v) {
				p.add(se.val.Line, sf, "%q is not a valid slug (%s)", v, names.Rule)
				continue
			}
			s.Slug = v
		case "parameters":
			ps.params = &se
		case "timezone":
			v, ok := p.scalar(sf, se.val)
			if !ok {
				continue
			}
			if v == "" {
				p.add(se.val.Line, sf, "is empty (leave the key out for %s)", DefaultTimezone)
				continue
			}
			loc, err := loadLocation(v)
			if err != nil {
				p.add(se.val.Line, sf, "%v", err)
				continue
			}
			s.Timezone, s.Location = v, loc
		case "paused", "active":
			if pausedKey != nil {
				p.add(se.key.Line, sf, "%s: and %s: say the same thing (active: false is paused: true); keep one", pausedKey.name, se.name)
				continue
			}
			pausedKey = &se
			if se.val.Kind != yaml.ScalarNode || se.val.ShortTag() != "!!bool" {
				p.add(se.val.Line, sf, "must be true or false (leave the key out to keep the server's state), got %s", describe(se.val))
				continue
			}
			var b bool
			if err := se.val.Decode(&b); err != nil {
				p.add(se.val.Line, sf, "must be true or false: %v", err)
				continue
			}
			paused := b
			if se.name == "active" {
				paused = !b
			}
			s.Paused = &paused
		case "note":
			s.Note, _ = p.scalar(sf, se.val)
		case "overlap":
			v, ok := p.scalar(sf, se.val)
			if !ok {
				continue
			}
			if _, err := ParseOverlap(v); err != nil {
				p.add(se.val.Line, sf, "%v", err)
				continue
			}
			s.Overlap = v
		case "catchup_window":
			if d, ok := p.duration(sf, se.val, MinCatchupWindow, 0); ok {
				s.CatchupWindow = d
			}
		case "jitter":
			if d, ok := p.duration(sf, se.val, 0, MaxJitter); ok {
				s.Jitter = d
			}
		default:
			p.unknownKey(se, field, scheduleKeys)
		}
	}
	switch {
	case cronKey != nil && intervalKey != nil:
		p.add(intervalKey.key.Line, join(field, "interval"), "a schedule has either cron (at line %d) or interval, not both; split it into two entries of `schedules:`", cronKey.key.Line)
	case cronKey == nil && intervalKey == nil:
		p.add(line, field, `no cron or interval; a schedule needs one, e.g. cron: "0 9 * * *" (or @daily), or interval: 15m`)
	case offsetKey != nil && intervalKey == nil:
		p.add(offsetKey.key.Line, join(field, "offset"), "only an interval schedule has an offset; for a cron schedule, move the cron's minute or hour instead")
	case s.Interval > 0 && s.Offset >= s.Interval:
		p.add(offsetKey.val.Line, join(field, "offset"), "%s is not shorter than the interval %s; must be at least 0s and less than the interval", offsetKey.val.Value, s.Interval)
	}
	return ps, true
}

// wholeSeconds reports whether d is whole seconds, the unit the server
// counts intervals in; a fraction is reported.
func (p *parser) wholeSeconds(field string, n *yaml.Node, d time.Duration) bool {
	if d%time.Second != 0 {
		p.add(n.Line, field, "%s is not a whole number of seconds; the server counts intervals in seconds", n.Value)
		return false
	}
	return true
}

// duration parses a Go duration within [lo, hi] (hi 0: no upper bound).
func (p *parser) duration(field string, n *yaml.Node, lo, hi time.Duration) (time.Duration, bool) {
	v, ok := p.scalar(field, n)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		p.add(n.Line, field, "%q is not a duration; use a number with a unit such as 90s, 15m or 1h", v)
	case d < lo && lo == 0:
		p.add(n.Line, field, "%s is negative; must be 0s or more", v)
	case d < lo:
		p.add(n.Line, field, "%s is too short; must be at least %s", v, lo)
	case hi > 0 && d > hi:
		p.add(n.Line, field, "%s is too long; must be at most %s", v, hi)
	default:
		return d, true
	}
	return 0, false
}

// scalar returns the text of a scalar value; anything else (including an
// empty value, which YAML reads as null) is reported.
func (p *parser) scalar(field string, n *yaml.Node) (string, bool) {
	switch {
	case isNull(n):
		p.add(n.Line, field, "has no value (give one, or leave the key out)")
	case n.Kind != yaml.ScalarNode:
		p.add(n.Line, field, "must be a single value, got %s", describe(n))
	default:
		return n.Value, true
	}
	return "", false
}

// entry is one key: value pair of a mapping.
type entry struct {
	name     string
	key, val *yaml.Node
}

// entries lists a mapping's pairs, reporting non-string keys, duplicate
// keys and merge keys (whose values would silently win or lose).
func (p *parser) entries(prefix string, n *yaml.Node) []entry {
	out := make([]entry, 0, len(n.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.add(k.Line, prefix, "keys must be plain names, got %s", describe(k))
			continue
		}
		field := join(prefix, k.Value)
		if k.ShortTag() == "!!merge" {
			p.add(k.Line, prefix, "merge keys (<<) are not supported; write the keys out")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.add(k.Line, field, "duplicate key (first at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, entry{name: k.Value, key: k, val: v})
	}
	return out
}

func (p *parser) unknownKey(e entry, prefix string, valid []string) {
	p.add(e.key.Line, join(prefix, e.name), "unknown key (valid: %s)%s", strings.Join(valid, ", "), suggest.DidYouMean(e.name, valid))
}

// join appends a key to a field path, quoting a key that is not a plain
// name so that a message stays on one line.
func join(prefix, name string) string {
	if !plainKeyRE.MatchString(name) {
		name = strconv.Quote(name)
	}
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

var digitsRE = regexp.MustCompile(`^[-+]?[0-9]+$`)

var plainKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// clean returns v, quoted if it holds anything that would break a
// one-line message.
func clean(v string) string {
	if strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return strconv.Quote(v)
	}
	return v
}

// resolve follows aliases (*anchor) to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names a node's kind and value for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
	default:
		return "an unsupported YAML node"
	}
	v := n.Value
	if len(v) > 40 {
		v = strings.ToValidUTF8(v[:40], "") + "..."
	}
	switch n.ShortTag() {
	case "!!str":
		return fmt.Sprintf("the string %q", v)
	case "!!int":
		return "the integer " + clean(v)
	case "!!float":
		return "the number " + clean(v)
	case "!!bool":
		return "the boolean " + clean(v)
	case "!!null":
		return "no value"
	default:
		return fmt.Sprintf("%s %q", n.ShortTag(), v)
	}
}
