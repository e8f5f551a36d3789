package deployments

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/redact"
	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/suggest"
)

// Sources are the manifest's named HTTP sources (its `sources:` section),
// by name. A deployment or a --param refers to one with
// source_url: source:NAME; the CLI then puts the definition in the
// workflow input (datapipeline.Params.Source), so the worker needs no copy of
// the manifest. A definition holds environment variable names, never
// secrets.
type Sources map[string]restapi.Definition

// Names lists the source names, sorted.
func (s Sources) Names() []string { return slices.Sorted(maps.Keys(s)) }

// Keys of a source and of its sub-mappings, in documented order.
var (
	sourceKeys   = []string{"url", "records", "paginate", "fields", "headers", "auth"}
	paginateKeys = []string{"style", "next", "page_param", "total_pages", "offset_param", "total", "total_header",
		"cursor_param", "cursor_field", "has_more", "size_param", "size"}
	authKeys = []string{"bearer_env", "basic_user", "basic_user_env", "basic_password_env", "header", "header_env"}
)

// resolveSource adds the definition of a source_url: source:NAME to the
// parameter values, as "source". An unknown name is reported as a broken
// source_url rule, so the loader points at its line.
func resolveSource(values map[string]any, sources Sources) (map[string]any, error) {
	ref, ok := values["source_url"].(string)
	if !ok || !strings.HasPrefix(ref, restapi.RefPrefix) {
		return values, nil
	}
	name := strings.TrimPrefix(ref, restapi.RefPrefix)
	def, ok := sources[name]
	if !ok {
		if restapi.CheckName(name) != nil {
			return values, nil // the source_url rule says what is wrong with it
		}
		known := "the manifest has no sources: section"
		if len(sources) > 0 {
			known = "sources: " + strings.Join(sources.Names(), ", ") + suggest.DidYouMean(name, sources.Names())
		}
		return nil, &flow.ValidationError{Problems: []flow.Problem{{Path: "source_url", Value: ref, Msg: fmt.Sprintf("unknown source %q (%s)", name, known)}}}
	}
	out := maps.Clone(values)
	out["source"] = def
	return out, nil
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
