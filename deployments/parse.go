package deployments

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/blueprint-etl/blueprint/internal/pipeline"
	"github.com/blueprint-etl/blueprint/internal/source/restapi"
	"github.com/blueprint-etl/blueprint/internal/suggest"
)

// nameRE is a DNS label: the name is a Temporal Schedule ID, appears in
// workflow IDs and may end up in URLs and metric labels.
var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

const nameRule = "lower-case letters, digits and '-', at most 63 characters, starting and ending with a letter or digit"

// Parse parses and validates a manifest. path is used in messages only.
// Every problem is reported, one per line, as FILE:LINE: FIELD: PROBLEM in a
// *ManifestError wrapped in a *pipeline.InputError.
//
// The YAML is walked as a yaml.Node tree rather than decoded into structs:
// that keeps the line of every value for messages, rejects unknown keys with
// a suggestion and keeps parameter values in their declared types.
func Parse(path string, data []byte) (*Manifest, error) {
	if path == "" {
		path = "manifest"
	}
	p := &parser{file: path}
	m := p.parse(data)
	if len(p.problems) > 0 {
		slices.SortStableFunc(p.problems, func(a, b Problem) int { return a.Line - b.Line })
		return nil, &pipeline.InputError{Err: &ManifestError{Problems: p.problems, Omitted: p.omitted}}
	}
	m.Path = path
	return m, nil
}

type parser struct {
	file     string
	srcs     Sources
	broken   []string // sources with problems, already reported
	problems []Problem
	omitted  int
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
	m.Sources = p.srcs
	for i := range m.Deployments {
		m.Deployments[i].Sources = p.srcs
	}
	return m
}

func (p *parser) deployments(m *Manifest, list *yaml.Node) {
	type seen struct{ index, line int }
	names := map[string]seen{}
	for i, item := range list.Content {
		if p.full() {
			p.omitted++ // at least this one
			return
		}
		item = resolve(item)
		d, nameLine, ok := p.deployment(i, item)
		if !ok {
			continue
		}
		field := fmt.Sprintf("deployments[%d].name", i)
		if first, dup := names[d.Name]; dup {
			p.add(nameLine, field, "duplicate name %q: deployments[%d] at line %d has it too (names must be unique: each is a schedule ID)", d.Name, first.index, first.line)
			continue
		}
		names[d.Name] = seen{i, nameLine}
		m.Deployments = append(m.Deployments, d)
	}
}

// deployment parses one list item; ok is false when it has no usable name.
func (p *parser) deployment(i int, n *yaml.Node) (d Deployment, nameLine int, ok bool) {
	prefix := fmt.Sprintf("deployments[%d]", i)
	d = Deployment{Line: n.Line, Workflow: pipeline.WorkflowType, TaskQueue: pipeline.TaskQueue, Parameters: map[string]any{}}
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, prefix, "must be a mapping with at least a `name:`, got %s", describe(n))
		return d, 0, false
	}
	hasName, nameKey := false, false
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
			if !nameRE.MatchString(v) {
				p.add(e.val.Line, field, "%q is not a valid name (%s)", v, nameRule)
				continue
			}
			d.Name, hasName = v, true
		case "description":
			d.Description, _ = p.scalar(field, e.val)
		case "tags":
			d.Tags = p.tags(field, e.val)
		case "workflow":
			v, good := p.scalar(field, e.val)
			switch {
			case !good:
			case !slices.Contains(Workflows, v):
				p.add(e.val.Line, field, "unknown workflow %q (valid: %s)%s", v, strings.Join(Workflows, ", "), suggest.DidYouMean(v, Workflows))
			default:
				d.Workflow = v
			}
		case "task_queue":
			v, good := p.scalar(field, e.val)
			switch {
			case !good:
			case strings.TrimSpace(v) == "":
				p.add(e.val.Line, field, "is empty (leave the key out to use %s)", pipeline.TaskQueue)
			case v != strings.TrimSpace(v):
				p.add(e.val.Line, field, "%q has leading or trailing white space", v)
			default:
				d.TaskQueue = v
			}
		case "parameters":
			p.parameters(field, e, &d)
		case "schedule":
			d.Schedule = p.schedule(field, e)
		default:
			p.unknownKey(e, prefix, deploymentKeys)
		}
	}
	if !nameKey {
		p.add(n.Line, prefix+".name", "missing; every deployment needs a name (%s), e.g. production-etl", nameRule)
	}
	return d, nameLine, hasName
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

func (p *parser) parameters(field string, e entry, d *Deployment) {
	n := e.val
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, field, "must be a mapping of parameter names to values (e.g. batch_size: 1000), got %s", describe(n))
		return
	}
	lines := map[string]int{}
	typed := true
	for _, pe := range p.entries(field, n) {
		pf := join(field, pe.name)
		spec, ok := pipeline.LookupParam(pe.name)
		if !ok {
			p.add(pe.key.Line, pf, "%v", pipeline.UnknownParamError(pe.name))
			typed = false
			continue
		}
		lines[pe.name] = pe.val.Line
		v, err := typedValue(spec, pe.val)
		if err != nil {
			p.add(pe.val.Line, pf, "%v", err)
			typed = false
			continue
		}
		d.Parameters[pe.name] = v
	}
	if ref, ok := d.Parameters["source_url"].(string); ok && slices.Contains(p.broken, strings.TrimPrefix(ref, restapi.RefPrefix)) {
		typed = false // the source's own problems are reported at its lines
	}
	if !typed {
		return
	}
	if _, err := BuildParams(d.Parameters, p.srcs); err != nil {
		var ve *pipeline.ValidationError
		if !errors.As(err, &ve) {
			p.add(e.key.Line, field, "%v", err)
			return
		}
		for _, problem := range ve.Problems {
			name := problem
			if i := strings.IndexAny(problem, "=:"); i >= 0 {
				name = problem[:i]
			}
			if line, ok := lines[name]; ok {
				p.add(line, field+"."+name, "invalid value: %s", problem)
			} else {
				p.add(e.key.Line, field, "invalid parameters: %s", problem)
			}
		}
	}
}

// typedValue converts a YAML scalar to the parameter's declared type:
// int64 for "integer", string for "string". Quoted numbers are strings and
// 1.5 is not an integer: a manifest says what it means.
func typedValue(spec pipeline.ParamSpec, n *yaml.Node) (any, error) {
	if n.Kind != yaml.ScalarNode {
		return nil, fmt.Errorf("must be %s, got %s", article(spec.Type), describe(n))
	}
	switch spec.Type {
	case "integer":
		if n.ShortTag() == "!!float" && digitsRE.MatchString(n.Value) {
			return nil, fmt.Errorf("%s is out of range for an integer", n.Value)
		}
		if n.ShortTag() != "!!int" {
			return nil, fmt.Errorf("must be an integer, got %s", describe(n))
		}
		var v int64
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s is not an integer in range", clean(n.Value))
		}
		return v, nil
	default:
		if n.ShortTag() != "!!str" {
			return nil, fmt.Errorf("must be a string, got %s (quote it if you mean the text)", describe(n))
		}
		return n.Value, nil
	}
}

func article(typ string) string {
	if typ == "integer" {
		return "an integer"
	}
	return "a " + typ
}

func (p *parser) schedule(field string, e entry) *Schedule {
	n := e.val
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, field, "must be a mapping with at least a `cron:` key, got %s", describe(n))
		return nil
	}
	s := &Schedule{
		Timezone:      DefaultTimezone,
		Location:      time.UTC,
		Overlap:       DefaultOverlap,
		CatchupWindow: DefaultCatchupWindow,
		Line:          e.key.Line,
	}
	hasCron := false
	for _, se := range p.entries(field, n) {
		sf := join(field, se.name)
		switch se.name {
		case "cron":
			hasCron = true
			v, ok := p.scalar(sf, se.val)
			if !ok {
				continue
			}
			if _, err := ParseCron(v); err != nil {
				p.add(se.val.Line, sf, "%v", err)
				continue
			}
			s.Cron = strings.TrimSpace(v)
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
		case "paused":
			if se.val.Kind != yaml.ScalarNode || se.val.ShortTag() != "!!bool" {
				p.add(se.val.Line, sf, "must be true or false (leave the key out to keep the server's state), got %s", describe(se.val))
				continue
			}
			var b bool
			if err := se.val.Decode(&b); err != nil {
				p.add(se.val.Line, sf, "must be true or false: %v", err)
				continue
			}
			s.Paused = &b
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
	if !hasCron {
		p.add(e.key.Line, field+".cron", `missing; a schedule needs a cron expression such as "0 9 * * *" or @daily`)
	}
	return s
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
