package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/blueprint-etl/blueprint/internal/jsonkind"
	"github.com/blueprint-etl/blueprint/internal/redact"
	"github.com/blueprint-etl/blueprint/internal/restapi"
)

// ndjsonTypes are the media types that announce one JSON value per line.
var ndjsonTypes = map[string]bool{
	"application/x-ndjson": true, "application/ndjson": true,
	"application/jsonl": true, "application/x-jsonlines": true, "application/jsonlines": true,
}

// envelopeKeys are the members an object body's record list is looked
// for in when no records path is declared, in this order.
var envelopeKeys = []string{"data", "items", "records", "results"}

// records splits the body into records: those at the dotted path when one
// is declared, else a JSON array, NDJSON, or an object envelope.
//
// A body is truncated when it is shorter than its Content-Length or a
// chunked body lacks its last chunk (fetch fails then), or when its JSON
// document is unterminated: an error wrapping io.ErrUnexpectedEOF. An
// empty body that only the connection's close ended is truncated too,
// unless it is NDJSON: NDJSON has no terminator, so an NDJSON body without
// a length that closes cleanly is complete.
func (r *response) records(path string) ([][]byte, error) {
	if !r.delimited && !ndjsonTypes[r.mediaType] && len(bytes.TrimSpace(r.body)) == 0 {
		return nil, &formatError{Msg: "input ends early: the body is empty, and the server closed the connection without saying its length",
			Err: io.ErrUnexpectedEOF}
	}
	if path == "" {
		return decodeBody(r.body, r.mediaType)
	}
	if r.mediaType == "text/html" {
		return nil, &formatError{Msg: "response is an HTML page, want JSON"}
	}
	obj, err := r.object()
	if err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, &formatError{Msg: fmt.Sprintf("response is not a JSON object, so it has no %s", path)}
	}
	list, ok := lookup(obj, restapi.Split(path))
	switch {
	case !ok:
		return nil, &formatError{Msg: fmt.Sprintf("response has no %s (records path); its top-level keys are: %s", path, keysOf(obj))}
	case string(list) == "null":
		return nil, nil
	case list[0] != '[':
		return nil, &formatError{Msg: fmt.Sprintf("%s (records path) is not a JSON array", path)}
	}
	records, _, err := collect(newArrayDecoder(bytes.NewReader(list)), -1)
	return records, err
}

// recordsPath is where records found a page's records: the declared
// path, the envelope member of an object body, or "" for a body that is
// the list itself.
func (r *response) recordsPath(declared string) string {
	if declared != "" {
		return declared
	}
	obj, _ := r.object()
	for _, k := range envelopeKeys {
		if _, ok := obj[k]; ok {
			return k
		}
	}
	return ""
}

// object returns the body's top-level object, nil when the body is not
// one JSON object.
func (r *response) object() (map[string]json.RawMessage, error) {
	if r.parsed {
		return r.obj, nil
	}
	r.parsed = true
	trimmed := bytes.TrimSpace(r.body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &obj); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			_, derr := decodeObject(r.body)
			switch {
			case derr == nil:
				return nil, nil // NDJSON objects sent as application/json
			case errors.Is(derr, io.ErrUnexpectedEOF):
				return nil, derr // an unterminated object: the body is truncated
			}
			return nil, &formatError{Offset: se.Offset, Msg: "malformed JSON: " + se.Error(), Err: err}
		}
		return nil, &formatError{Msg: "malformed JSON object", Err: err}
	}
	r.obj = obj
	return obj, nil
}

// value returns the body's value at a dotted path.
func (r *response) value(path string) (json.RawMessage, bool, error) {
	obj, err := r.object()
	if err != nil || obj == nil {
		return nil, false, err
	}
	v, ok := lookup(obj, restapi.Split(path))
	return v, ok, nil
}

// lookup walks a dotted path down nested objects.
func lookup(obj map[string]json.RawMessage, path []string) (json.RawMessage, bool) {
	v, ok := obj[path[0]]
	for _, seg := range path[1:] {
		if !ok || len(v) == 0 || v[0] != '{' {
			return nil, false
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(v, &m) != nil {
			return nil, false
		}
		v, ok = m[seg]
	}
	if ok {
		v = bytes.TrimSpace(v)
	}
	return v, ok && len(v) > 0
}

func keysOf(obj map[string]json.RawMessage) string {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, strconv.Quote(k))
	}
	slices.Sort(keys)
	if len(keys) > 20 {
		keys = append(keys[:20], "...")
	}
	if len(keys) == 0 {
		return "none"
	}
	return strings.Join(keys, ", ")
}

// decodeBody splits a response body into records: a JSON array, NDJSON, or
// an object envelope {"data"|"items"|"records"|"results": [...]}.
func decodeBody(body []byte, mediaType string) ([][]byte, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	switch {
	case mediaType == "text/html":
		return nil, &formatError{Msg: "response is an HTML page, want JSON or NDJSON"}
	case ndjsonTypes[mediaType] || len(trimmed) == 0:
		records, _, err := collect(newLineDecoder(bytes.NewReader(body), 0), -1)
		return records, err
	case trimmed[0] == '[':
		records, _, err := collect(newArrayDecoder(bytes.NewReader(body)), -1)
		return records, err
	case trimmed[0] == '{':
		return decodeObject(body)
	default:
		records, _, err := collect(newLineDecoder(bytes.NewReader(body), 0), -1)
		return records, err
	}
}

// decodeObject reads a body that starts with an object: an envelope, or
// NDJSON objects sent as application/json.
func decodeObject(body []byte) ([][]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var first json.RawMessage
	if err := dec.Decode(&first); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, &formatError{Offset: se.Offset, Msg: "malformed JSON: " + se.Error(), Err: err}
		}
		return nil, &formatError{Offset: dec.InputOffset(), Msg: "input ends early: unterminated JSON object", Err: io.ErrUnexpectedEOF}
	}
	if len(bytes.TrimSpace(body[dec.InputOffset():])) > 0 {
		records, _, err := collect(newLineDecoder(bytes.NewReader(body), 0), -1)
		return records, err
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(first, &env); err != nil { // cannot fail: first is a valid object
		return nil, &formatError{Msg: "malformed JSON object", Err: err}
	}
	var list json.RawMessage
	for _, k := range envelopeKeys {
		if l, ok := env[k]; ok {
			list = l
			break
		}
	}
	switch {
	case list == nil:
		return nil, &formatError{Msg: "JSON object has no data, items, records or results array (declare where the records are with a named source's records: path)"}
	case string(list) == "null":
		return nil, nil
	case list[0] != '[':
		return nil, &formatError{Msg: "the envelope's record list is not a JSON array"}
	}
	records, _, err := collect(newArrayDecoder(bytes.NewReader(list)), -1)
	return records, err
}

// loopError says the API's next page is one this read has already read:
// how the paginator made that URL, and how to declare the style.
type loopError struct{ url, how, hint string }

func (e *loopError) Error() string {
	return fmt.Sprintf("pagination loops: the next page %s was already read by this run: %s; %s", e.url, e.how, e.hint)
}

// loop describes the loop at next: which query parameter the paginator
// changed (or where the next link came from), and how the style is
// declared in a named source, the keys of the deployments manifest named.
func (p *paginator) loop(next *url.URL) *loopError {
	e := &loopError{url: redact.URL(next.String())}
	param, key, example := "", "", ""
	switch p.style {
	case restapi.StyleLink:
		e.how = `the next page is the response's Link header rel="next", which points back`
		example = "style: page, page_param: PARAM"
	case restapi.StyleNextURL:
		e.how = fmt.Sprintf("the next page is the body's next page URL (%s), which points back", p.p.Next)
		example = "style: page, page_param: PARAM"
	case restapi.StylePage:
		from := "the current page + 1"
		example = "style: page"
		switch {
		case p.p.Next != "":
			from = "the body's " + p.p.Next
			example += ", next: " + p.p.Next
		case p.p.TotalPages != "":
			example += ", total_pages: " + p.p.TotalPages
		}
		param, key = p.p.PageParam, "page_param"
		e.how = fmt.Sprintf("the page number (%s) was sent in the query parameter %s, and the server answered with the same page again", from, param)
		example += ", page_param: PARAM"
	case restapi.StyleOffset:
		param, key = p.p.OffsetParam, "offset_param"
		e.how = fmt.Sprintf("the offset was sent in the query parameter %s, and the server answered with the same page again", param)
		example = "style: offset, offset_param: PARAM, total: total"
	case restapi.StyleCursor:
		from := "the body's " + p.p.Next
		if p.p.CursorField != "" {
			from = "the last record's " + p.p.CursorField
		}
		param, key = p.p.CursorParam, "cursor_param"
		e.how = fmt.Sprintf("the cursor (%s) was sent in the query parameter %s, and the server answered with the same cursor again", from, param)
		example = "style: cursor, cursor_param: PARAM, next: PATH"
	}
	where := fmt.Sprintf("a named source of the deployments manifest (sources: {NAME: {url: URL, paginate: {%s}}}) and run it with source_url=source:NAME", example)
	if p.def.Name != "" {
		where = fmt.Sprintf("paginate of source %q in the deployments manifest (paginate: {%s})", p.def.Name, example)
	}
	switch declared := p.def.Paginate.StyleOrAuto() != restapi.StyleAuto; {
	case declared && key != "":
		e.hint = fmt.Sprintf("check paginate.%s of source %q in the deployments manifest: it must name the parameter the API reads", key, p.def.Name)
	case declared:
		e.hint = "if the API pages by a query parameter, declare its style in " + where
	default:
		e.hint = fmt.Sprintf("the %s style was detected from the first response; if the API reads another parameter, declare its style in %s", p.style, where)
	}
	return e
}

// paginator finds the next page's URL by the source's pagination style. It is
// stateless but for the style it detected and the pages it has seen: the
// position (page number, offset, cursor) is in the URL, so a checkpoint
// resumes it.
type paginator struct {
	def   restapi.Definition
	p     restapi.Paginate // with defaults
	style string           // StyleAuto until the first response decides
	seed  maphash.Seed
	seen  map[uint64]struct{}
}

func newPaginator(def restapi.Definition) (*paginator, error) {
	p := def.Paginate
	p.Style = p.StyleOrAuto()
	if p.PageParam == "" {
		p.PageParam = restapi.DefaultPageParam
	}
	if p.OffsetParam == "" {
		p.OffsetParam = restapi.DefaultOffsetParam
	}
	if p.SizeParam == "" && p.Size > 0 && p.Style == restapi.StyleOffset {
		p.SizeParam = restapi.DefaultLimitParam
	}
	return &paginator{def: def, p: p, style: p.Style, seed: maphash.MakeSeed(), seen: map[uint64]struct{}{}}, nil
}

// start returns the first page's URL: the source URL, with the page size
// when one is declared and the URL does not set it.
func (p *paginator) start(u *url.URL) *url.URL {
	if p.p.SizeParam == "" || u.Query().Has(p.p.SizeParam) {
		return u
	}
	return withParam(u, p.p.SizeParam, strconv.Itoa(p.p.Size))
}

// next returns the URL of the page after requested, nil when there is none.
func (p *paginator) next(requested *url.URL, resp *response, records [][]byte) (*url.URL, error) {
	p.seen[maphash.String(p.seed, requested.String())] = struct{}{}
	if p.style == restapi.StyleAuto {
		style, err := p.detect(requested, resp)
		if err != nil {
			return nil, err
		}
		p.style = style
	}
	next, err := p.follow(requested, resp, records)
	if err != nil || next == nil {
		return nil, err
	}
	next = withoutUser(next)
	if _, dup := p.seen[maphash.String(p.seed, next.String())]; dup {
		return nil, p.loop(next)
	}
	return next, nil
}

// detect chooses the style from the first response: a Link header, a next
// URL in the body, a next page number, page/total_pages, offset/total.
// Anything else is one page. Page and offset markers together are
// ambiguous: the style must be declared then.
func (p *paginator) detect(requested *url.URL, resp *response) (string, error) {
	if linkNext(resp.header.Values("Link")) != "" {
		return restapi.StyleLink, nil
	}
	obj, err := resp.object()
	if err != nil || obj == nil {
		return restapi.StyleSingle, err
	}
	isNum := func(k string) bool { _, ok := number(obj[k]); return ok }
	for _, k := range []string{"next", "next_url"} {
		v := bytes.TrimSpace(obj[k])
		switch {
		case len(v) == 0 || string(v) == "null" || (k == "next" && isNum(k)):
		case v[0] == '"':
			p.p.Next = k
			return restapi.StyleNextURL, nil
		default:
			return "", &formatError{Msg: fmt.Sprintf("the envelope's %s is %s, neither a next page URL nor a page number", k, describeRaw(v))}
		}
	}
	paged := isNum("next") || isNum("total_pages")
	offset := isNum("offset") && isNum("total")
	switch {
	case paged && offset:
		return "", &formatError{Msg: "pagination is ambiguous: the response has both page (next or total_pages) and offset/total markers; declare paginate.style in a named source"}
	case isNum("next"):
		p.p.Next = "next"
		if p.def.Paginate.PageParam == "" {
			n, _ := number(obj["next"])
			param, err := pageParamOf(requested, n-1)
			if err != nil {
				return "", err
			}
			if param != "" {
				p.p.PageParam = param
			}
		}
		return restapi.StylePage, nil
	case isNum("total_pages"):
		p.p.TotalPages = "total_pages"
		return restapi.StylePage, nil
	case offset:
		p.p.Total = "total"
		return restapi.StyleOffset, nil
	}
	return restapi.StyleSingle, nil
}

// sizeWords mark a query parameter that holds a page size, not a page
// number (limit, per_page, _per_page, page_size, count...).
var sizeWords = []string{"limit", "size", "per", "count"}

// pageParamOf returns the query parameter of u, of any name, whose value
// is the current page number cur (json-server 1.0's _page=1 when the body
// says "next": 2): the parameter the next page number goes in. A parameter
// named like a page size is not one, whatever its value. "" means none
// has it (the default page parameter is used). When several have it, the
// one named page (or _page, PAGE...) wins; any other tie is ambiguous, an
// error that says how to declare the parameter.
func pageParamOf(u *url.URL, cur int64) (string, error) {
	want := strconv.FormatInt(cur, 10)
	var found []string
	for name, values := range u.Query() {
		lower := strings.ToLower(name)
		if len(values) == 1 && values[0] == want && !slices.ContainsFunc(sizeWords, func(w string) bool { return strings.Contains(lower, w) }) {
			found = append(found, name)
		}
	}
	slices.Sort(found)
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		return found[0], nil
	}
	var named []string
	for _, name := range found {
		if strings.EqualFold(strings.Trim(name, "_"), restapi.DefaultPageParam) {
			named = append(named, name)
		}
	}
	if len(named) == 1 {
		return named[0], nil
	}
	return "", &formatError{Msg: fmt.Sprintf("pagination is ambiguous: the body's next page is %d and the URL's parameters %s all hold the current page %s; "+
		"declare which one carries the page number in a named source (paginate: {style: page, next: next, page_param: NAME})",
		cur+1, strings.Join(found, ", "), want)}
}

// follow computes the next URL by the style.
func (p *paginator) follow(requested *url.URL, resp *response, records [][]byte) (*url.URL, error) {
	switch p.style {
	case restapi.StyleLink:
		return resolve(resp.url, linkNext(resp.header.Values("Link")))
	case restapi.StyleNextURL:
		v, ok, err := p.bodyValue(resp, p.p.Next, "next", false)
		if err != nil || !ok {
			return nil, err
		}
		var link string
		if json.Unmarshal(v, &link) != nil {
			return nil, &formatError{Msg: fmt.Sprintf("the next page link (%s) is not a string", p.p.Next)}
		}
		return resolve(resp.url, link)
	case restapi.StylePage:
		return p.nextPage(requested, resp, records)
	case restapi.StyleOffset:
		return p.nextOffset(requested, resp, records)
	case restapi.StyleCursor:
		return p.nextCursor(requested, resp, records)
	default: // single
		return nil, nil
	}
}

func (p *paginator) nextPage(requested *url.URL, resp *response, records [][]byte) (*url.URL, error) {
	if len(records) == 0 {
		return nil, nil
	}
	cur := int64(1)
	if s := requested.Query().Get(p.p.PageParam); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, &formatError{Msg: fmt.Sprintf("page parameter %s=%q is not a number", p.p.PageParam, s)}
		}
		cur = n
	} else if v, ok, _ := resp.value("page"); ok {
		if n, ok := number(v); ok {
			cur = n
		}
	}
	n := cur + 1
	switch {
	case p.p.Next != "":
		v, ok, err := p.bodyValue(resp, p.p.Next, "next", false)
		if err != nil || !ok {
			return nil, err
		}
		if n, ok = number(v); !ok {
			return nil, &formatError{Msg: fmt.Sprintf("the next page number (%s) is %s, want a number", p.p.Next, describeRaw(v))}
		}
		if n <= 0 {
			return nil, nil
		}
	case p.p.TotalPages != "":
		v, _, err := p.bodyValue(resp, p.p.TotalPages, "total_pages", true)
		if err != nil {
			return nil, err
		}
		total, ok := number(v)
		if !ok {
			return nil, &formatError{Msg: fmt.Sprintf("the page count (%s) is %s, want a number", p.p.TotalPages, describeRaw(v))}
		}
		if cur >= total {
			return nil, nil
		}
	}
	return withParam(requested, p.p.PageParam, strconv.FormatInt(n, 10)), nil
}

func (p *paginator) nextOffset(requested *url.URL, resp *response, records [][]byte) (*url.URL, error) {
	if len(records) == 0 {
		return nil, nil
	}
	cur := int64(0)
	if s := requested.Query().Get(p.p.OffsetParam); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return nil, &formatError{Msg: fmt.Sprintf("offset parameter %s=%q is not a non-negative number", p.p.OffsetParam, s)}
		}
		cur = n
	}
	n := cur + int64(len(records))
	total := int64(-1)
	if p.p.Total != "" {
		v, _, err := p.bodyValue(resp, p.p.Total, "total", true)
		if err != nil {
			return nil, err
		}
		t, ok := number(v)
		if !ok {
			return nil, &formatError{Msg: fmt.Sprintf("the total (%s) is %s, want a number", p.p.Total, describeRaw(v))}
		}
		total = t
	}
	if p.p.TotalHeader != "" {
		h := strings.TrimSpace(resp.header.Get(p.p.TotalHeader))
		t, err := strconv.ParseInt(h, 10, 64)
		if err != nil {
			return nil, &formatError{Msg: fmt.Sprintf("the response's %s header is %q, want a number", p.p.TotalHeader, h)}
		}
		total = t
	}
	if total >= 0 && n >= total {
		return nil, nil
	}
	return withParam(requested, p.p.OffsetParam, strconv.FormatInt(n, 10)), nil
}

func (p *paginator) nextCursor(requested *url.URL, resp *response, records [][]byte) (*url.URL, error) {
	if len(records) == 0 {
		return nil, nil
	}
	if p.p.HasMore != "" {
		v, _, err := p.bodyValue(resp, p.p.HasMore, "has_more", true)
		if err != nil {
			return nil, err
		}
		switch string(v) {
		case "false":
			return nil, nil
		case "true":
		default:
			return nil, &formatError{Msg: fmt.Sprintf("has_more (%s) is %s, want true or false", p.p.HasMore, describeRaw(v))}
		}
	}
	var token json.RawMessage
	if p.p.CursorField != "" {
		last := records[len(records)-1]
		var rec map[string]json.RawMessage
		v, ok := json.RawMessage(nil), false
		if json.Unmarshal(last, &rec) == nil {
			v, ok = lookup(rec, restapi.Split(p.p.CursorField))
		}
		if !ok {
			return nil, &formatError{Msg: fmt.Sprintf("the page's last record has no %s (cursor_field)", p.p.CursorField)}
		}
		token = v
	} else {
		v, ok, err := p.bodyValue(resp, p.p.Next, "next", false)
		if err != nil || !ok {
			return nil, err
		}
		token = v
	}
	s, ok := scalarText(token)
	if !ok {
		return nil, &formatError{Msg: fmt.Sprintf("the next cursor is %s, want a string or a number", describeRaw(token))}
	}
	if s == "" {
		return nil, nil
	}
	return withParam(requested, p.p.CursorParam, s), nil
}

// bodyValue reads the body at path (key names the paginate key in
// messages). Absent or null is ok=false, an error when required.
func (p *paginator) bodyValue(resp *response, path, key string, required bool) (json.RawMessage, bool, error) {
	v, ok, err := resp.value(path)
	if err != nil {
		return nil, false, err
	}
	if !ok || string(v) == "null" {
		if required {
			return nil, false, &formatError{Msg: fmt.Sprintf("response has no %s (paginate.%s)", path, key)}
		}
		return nil, false, nil
	}
	return v, true, nil
}

// number reads a JSON integer, or a string holding one.
func number(v json.RawMessage) (int64, bool) {
	s, ok := scalarText(v)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// scalarText returns a JSON string's text or a number's digits.
func scalarText(v json.RawMessage) (string, bool) {
	if len(v) == 0 {
		return "", false
	}
	switch c := v[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(v, &s) != nil {
			return "", false
		}
		return s, true
	case c == '-' || (c >= '0' && c <= '9'):
		return string(v), true
	}
	return "", false
}

// describeRaw names a JSON value's kind for messages.
func describeRaw(v json.RawMessage) string {
	if len(v) == 0 {
		return "missing"
	}
	return jsonkind.A(v)
}

// resolve resolves a next link against the URL that answered.
func resolve(base *url.URL, link string) (*url.URL, error) {
	if link == "" {
		return nil, nil
	}
	next, err := base.Parse(link)
	if err != nil || !isHTTP(next) {
		return nil, &formatError{Msg: fmt.Sprintf("next page link %s is not an http(s) URL", redact.URL(link))}
	}
	return next, nil
}

// withParam returns u with the query parameter name set to value.
func withParam(u *url.URL, name, value string) *url.URL {
	c := *u
	q := c.Query()
	q.Set(name, value)
	c.RawQuery = q.Encode()
	return &c
}

// fieldMap takes the fields a reader's caller reads from a source's
// records: each from its mapped path, or from the member of its name.
type fieldMap struct {
	targets  []string   // the fields the caller reads, in its order
	paths    [][]string // where each target's value is
	declared []string   // the declared path, "" when the target is read as is
	buf      bytes.Buffer
}

// newFieldMap maps the fields wanted (all the targets of mapping, sorted,
// when none are named) by a definition's mapping. Without a mapping there
// is nothing to map: nil, and records pass as they are, every field under
// its own name. A target of the mapping that is not wanted is not read.
func newFieldMap(mapping map[string]string, wanted []string) *fieldMap {
	if len(mapping) == 0 {
		return nil
	}
	if len(wanted) == 0 {
		wanted = slices.Sorted(maps.Keys(mapping))
	}
	m := &fieldMap{}
	for _, f := range wanted {
		path := mapping[f]
		m.declared = append(m.declared, path)
		if path == "" {
			path = f
		}
		m.targets = append(m.targets, f)
		m.paths = append(m.paths, restapi.Split(path))
	}
	return m
}

// apply returns the record with the wanted fields, in their order, taken
// from their mapped paths; nothing else. A field whose path is missing is
// left out, so the caller finds it missing (Transform rejects the record
// for it); a record that is not a JSON object passes as it is, for the
// caller to reject.
func (m *fieldMap) apply(rec []byte) []byte {
	var obj map[string]json.RawMessage
	if len(rec) == 0 || rec[0] != '{' || json.Unmarshal(rec, &obj) != nil {
		return rec
	}
	m.buf.Reset()
	m.buf.WriteByte('{')
	for i, f := range m.targets {
		v, ok := lookup(obj, m.paths[i])
		if !ok {
			continue
		}
		if m.buf.Len() > 1 {
			m.buf.WriteByte(',')
		}
		m.buf.Write(appendJSONString(nil, f))
		m.buf.WriteByte(':')
		m.buf.Write(v)
	}
	m.buf.WriteByte('}')
	return bytes.Clone(m.buf.Bytes())
}

// missing lists, for the run's logs, the declared paths that no record
// of the page has: most likely a typo in the mapping.
func (m *fieldMap) missing(records [][]byte) []string {
	found := make([]bool, len(m.targets))
	for _, rec := range records {
		var obj map[string]json.RawMessage
		if json.Unmarshal(rec, &obj) != nil {
			continue
		}
		for i := range m.targets {
			if !found[i] && m.declared[i] != "" {
				_, found[i] = lookup(obj, m.paths[i])
			}
		}
	}
	var out []string
	for i, f := range m.targets {
		if m.declared[i] != "" && !found[i] {
			out = append(out, fmt.Sprintf("field mapping: %s is mapped from %s, which none of the %d records of the first page has", f, m.declared[i], len(records)))
		}
	}
	return out
}
