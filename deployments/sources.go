package deployments

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/redact"
	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/sourceurl"
	"github.com/blueprint-etl/blueprint/internal/suggest"
)

// Sources are the manifest's named HTTP sources (its `sources:` section),
// by name. A parameter with the source_url rule (flow.SourceURLRule: a
// string, or each item of a list) refers to one with source:NAME, in the
// manifest or a --param; the loader and the CLI then put its definition in
// the workflow input, in the member the flow's input carries definitions
// in (flow.Schema.SourceInput: DataPipeline's source, NightlyETL's
// source_definitions), so the worker needs no copy of the manifest. A
// definition holds environment variable names, never secrets.
type Sources map[string]restapi.Definition

// Names lists the source names, sorted.
func (s Sources) Names() []string { return slices.Sorted(maps.Keys(s)) }

// Get returns the source called name. An unknown name is a
// *badinput.Error that lists the sources and the nearest one.
func (s Sources) Get(name string) (restapi.Definition, error) {
	if def, ok := s[name]; ok {
		return def, nil
	}
	return restapi.Definition{}, badinput.Errorf("%s", s.unknown(name))
}

// unknown says that no source is called name, and which are.
func (s Sources) unknown(name string) string {
	names := "the manifest has no sources: section"
	if len(s) > 0 {
		names = "sources: " + strings.Join(s.Names(), ", ") + suggest.DidYouMean(name, s.Names())
	}
	return fmt.Sprintf("unknown source %q (%s)", name, names)
}

// Keys of a source and of its sub-mappings, in documented order.
var (
	sourceKeys   = []string{"url", "records", "paginate", "fields", "headers", "auth"}
	paginateKeys = []string{"style", "next", "page_param", "total_pages", "offset_param", "total", "total_header",
		"cursor_param", "cursor_field", "has_more", "size_param", "size"}
	authKeys = []string{"bearer_env", "basic_user", "basic_user_env", "basic_password_env", "header", "header_env"}
)

// sourceRef is a source:NAME in a parameter with the source_url rule.
type sourceRef struct {
	path string // the problem path of the value: source_url, sources[1]
	ref  string // as written
	name string
}

// sourceRefs lists the source:NAME that values name in the parameters
// with the source_url rule, in parameter order. A value that breaks the
// rule is left to the rule, which says what is wrong with it.
func sourceRefs(schema *flow.Schema, values map[string]any) []sourceRef {
	var refs []sourceRef
	add := func(path string, v any) {
		s, _ := v.(string)
		if spec, err := sourceurl.Parse(s); err == nil && spec.Kind == sourceurl.Named {
			refs = append(refs, sourceRef{path: path, ref: s, name: spec.Name})
		}
	}
	for _, p := range schema.All() {
		if !p.IsSourceURL() {
			continue
		}
		v, ok := valueAt(values, p.Path)
		if !ok {
			continue
		}
		switch v := v.(type) {
		case []string:
			for i, item := range v {
				add(fmt.Sprintf("%s[%d]", p.Path, i), item)
			}
		case []any:
			for i, item := range v {
				add(fmt.Sprintf("%s[%d]", p.Path, i), item)
			}
		default:
			add(p.Path, v)
		}
	}
	return refs
}

// valueAt returns the value at a parameter's dotted path.
func valueAt(values map[string]any, path string) (any, bool) {
	parts := strings.Split(path, ".")
	for _, part := range parts[:len(parts)-1] {
		sub, ok := values[part].(map[string]any)
		if !ok {
			return nil, false
		}
		values = sub
	}
	v, ok := values[parts[len(parts)-1]]
	return v, ok
}

// usesBroken reports whether values name one of the broken sources, whose
// problems are reported at their own lines.
func usesBroken(schema *flow.Schema, values map[string]any, broken []string) bool {
	return slices.ContainsFunc(sourceRefs(schema, values), func(r sourceRef) bool { return slices.Contains(broken, r.name) })
}

// resolveSources completes a flow's input with the definitions of the
// source:NAME its parameters name (sourceRefs), in the member the flow's
// input carries them in (flow.Schema.SourceInput). An unknown name, or a
// source:NAME in a flow whose input cannot carry its definition, is a
// problem of the parameter that names it, so the loader points at its
// line; errors are a *flow.ValidationError.
func resolveSources(schema *flow.Schema, values map[string]any, sources Sources) (map[string]any, error) {
	refs := sourceRefs(schema, values)
	if len(refs) == 0 {
		return values, nil
	}
	in, carries := schema.SourceInput()
	defs := map[string]restapi.Definition{}
	var problems []flow.Problem
	for _, r := range refs {
		def, known := sources[r.name]
		_, seen := defs[r.name]
		switch {
		case !known:
			problems = append(problems, flow.Problem{Path: r.path, Value: r.ref, Msg: sources.unknown(r.name)})
		case !carries:
			problems = append(problems, flow.Problem{Path: r.path, Value: r.ref, Msg: "names a source of the manifest, but the flow's input has no member to carry its definition " +
				"(a field tagged param:\"-\" of type map[string]restapi.Definition); use its http(s):// URL"})
		case in.One && len(defs) > 0 && !seen:
			problems = append(problems, flow.Problem{Path: r.path, Value: r.ref, Msg: fmt.Sprintf("is a second named source, but the flow's input carries one definition (%s)", in.Name)})
		default:
			defs[r.name] = def
		}
	}
	if len(problems) > 0 {
		return nil, &flow.ValidationError{Problems: problems}
	}
	out := maps.Clone(values)
	if in.One {
		out[in.Name] = defs[refs[0].name]
	} else {
		out[in.Name] = defs
	}
	return out, nil
}

// blameSource points a problem of a definition in the input (a flow's
// own rule about the sources it reads, such as DataPipeline's fields: rule:
// "source.fields.x: ..." or "source_definitions.NAME.fields.x: ...") at
// the parameter that names the source, so that the loader reports it at
// that line: source_url=source:NAME: source "NAME": fields.x: .... Any
// other problem is returned as it is.
func blameSource(schema *flow.Schema, values map[string]any, pr flow.Problem) flow.Problem {
	in, carries := schema.SourceInput()
	rest, ok := strings.CutPrefix(pr.Msg, in.Name+".")
	if pr.Path != "" || !carries || !ok {
		return pr
	}
	refs := sourceRefs(schema, values)
	name := ""
	if in.One && len(refs) > 0 {
		name = refs[0].name
	} else if !in.One {
		name, rest, _ = strings.Cut(rest, ".")
	}
	for _, r := range refs {
		if r.name == name {
			return flow.Problem{Path: r.path, Value: r.ref, Msg: fmt.Sprintf("source %q: %s", name, rest)}
		}
	}
	return pr
}

// sources parses the `sources:` section.
func (p *parser) sources(n *yaml.Node) Sources {
	out := Sources{}
	if isNull(n) {
		return out
	}
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, "sources", "must be a mapping of source names to definitions (e.g. shop-orders: {url: ...}), got %s", describe(n))
		return out
	}
	for _, e := range p.entries("sources", n) {
		if p.full() {
			p.omitted++
			return out
		}
		field := join("sources", e.name)
		if err := restapi.CheckName(e.name); err != nil {
			p.add(e.key.Line, field, "%v", err)
			continue
		}
		if def, ok := p.source(field, e); ok {
			def.Name = e.name
			out[e.name] = def
		} else {
			p.broken = append(p.broken, e.name)
		}
	}
	return out
}

// source parses one definition; ok is false when it has a problem.
func (p *parser) source(field string, e entry) (def restapi.Definition, ok bool) {
	n := e.val
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, field, "must be a mapping with at least a `url:`, got %s", describe(n))
		return def, false
	}
	before := len(p.problems) + p.omitted
	// lines maps a definition field (as restapi.Problem names it) to its line.
	lines := map[string]int{"": e.key.Line}
	str := func(f string, v *yaml.Node, dst *string) {
		lines[strings.TrimPrefix(f, field+".")] = v.Line
		if s, good := p.scalar(f, v); good {
			if v.ShortTag() != "!!str" {
				p.add(v.Line, f, "must be a string, got %s (quote it if you mean the text)", describe(v))
				return
			}
			*dst = s
		}
	}
	strMap := func(f string, v *yaml.Node) map[string]string {
		lines[strings.TrimPrefix(f, field+".")] = v.Line
		if v.Kind != yaml.MappingNode {
			p.add(v.Line, f, "must be a mapping of names to strings, got %s", describe(v))
			return nil
		}
		m := map[string]string{}
		for _, me := range p.entries(f, v) {
			var s string
			str(join(f, me.name), me.val, &s)
			if s != "" {
				m[me.name] = s
			}
		}
		return m
	}
	hasURL := false
	for _, se := range p.entries(field, n) {
		sf := join(field, se.name)
		switch se.name {
		case "url":
			hasURL = true
			str(sf, se.val, &def.URL)
		case "records":
			str(sf, se.val, &def.Records)
		case "fields":
			def.Fields = strMap(sf, se.val)
		case "headers":
			def.Headers = strMap(sf, se.val)
		case "paginate":
			lines["paginate"] = se.key.Line
			p.paginate(sf, se.val, &def.Paginate, lines, str)
		case "auth":
			lines["auth"] = se.key.Line
			if se.val.Kind != yaml.MappingNode {
				p.add(se.val.Line, sf, "must be a mapping such as {bearer_env: SHOP_TOKEN}, got %s", describe(se.val))
				continue
			}
			a := &def.Auth
			dst := map[string]*string{"bearer_env": &a.BearerEnv, "basic_user": &a.BasicUser, "basic_user_env": &a.BasicUserEnv,
				"basic_password_env": &a.BasicPasswordEnv, "header": &a.Header, "header_env": &a.HeaderEnv}
			for _, ae := range p.entries(sf, se.val) {
				if d, known := dst[ae.name]; known {
					str(join(sf, ae.name), ae.val, d)
				} else {
					p.unknownKey(ae, sf, authKeys)
				}
			}
		default:
			p.unknownKey(se, field, sourceKeys)
		}
	}
	if !hasURL {
		p.add(e.key.Line, field+".url", "missing; a source needs the http(s) URL of its first page")
	}
	if len(p.problems)+p.omitted > before || !hasURL {
		return def, false
	}
	for _, pr := range def.Validate() {
		line, known := lines[pr.Field]
		if !known {
			line = lines[strings.SplitN(pr.Field, ".", 2)[0]]
		}
		if line == 0 {
			line = e.key.Line
		}
		p.add(line, field+"."+pr.Field, "%s", pr.Msg)
	}
	if shown := redact.URL(def.URL); shown != def.URL && restapi.CheckURL(def.URL) == nil {
		p.add(lines["url"], field+".url", "%s holds a credential in its query; the URL is stored in workflow history, so send it with auth: {header: NAME, header_env: VARIABLE} instead", shown)
	}
	return def, len(p.problems)+p.omitted == before
}

// paginate parses a source's paginate: mapping.
func (p *parser) paginate(field string, n *yaml.Node, pg *restapi.Paginate, lines map[string]int, str func(string, *yaml.Node, *string)) {
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, field, "must be a mapping such as {style: cursor, cursor_param: starting_after, next: meta.next_cursor}, got %s", describe(n))
		return
	}
	dst := map[string]*string{"style": &pg.Style, "next": &pg.Next, "page_param": &pg.PageParam, "total_pages": &pg.TotalPages,
		"offset_param": &pg.OffsetParam, "total": &pg.Total, "total_header": &pg.TotalHeader, "cursor_param": &pg.CursorParam,
		"cursor_field": &pg.CursorField, "has_more": &pg.HasMore, "size_param": &pg.SizeParam}
	for _, e := range p.entries(field, n) {
		f := join(field, e.name)
		if d, known := dst[e.name]; known {
			str(f, e.val, d)
			continue
		}
		if e.name != "size" {
			p.unknownKey(e, field, paginateKeys)
			continue
		}
		lines["paginate.size"] = e.val.Line
		v, problems := (&flow.Param{Path: f, Kind: flow.Integer}).Coerce(p.value(f, e.val))
		if len(problems) > 0 {
			p.add(e.val.Line, f, "%s", strings.TrimSpace(problems[0].Value+" "+problems[0].Msg))
			continue
		}
		size := v.(int64)
		if size < 1 || size > restapi.MaxPageSize {
			p.add(e.val.Line, f, "%d must be from 1 to %d", size, restapi.MaxPageSize)
			continue
		}
		pg.Size = int(size)
	}
}
