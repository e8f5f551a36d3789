// Package restapi declares how a REST API is read: where its records are
// in a page, how it pages, where the fields a flow reads are in a record
// and how the worker authenticates to it. A Definition comes from a named
// source of the deployments manifest and travels in the workflow input, so
// it holds no secret: auth names the worker's environment variables that
// hold them. The package does no I/O, so workflow code may validate a
// Definition; internal/source reads the API it describes.
//
// It must not import `internal/source`, `internal/store` or a flow's
// contract.
package restapi

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/blueprint-etl/blueprint/internal/names"
	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/suggest"
)

// Pagination styles.
const (
	// StyleAuto detects the style from the first response: a Link header,
	// a next URL in the body, a next page number or page/total_pages, or
	// offset/limit/total; anything else is a single page.
	StyleAuto = "auto"
	// StyleLink follows the Link header's rel="next" target (RFC 8288).
	StyleLink = "link"
	// StyleNextURL follows a next page URL in the body.
	StyleNextURL = "next_url"
	// StylePage sends page numbers: the next one from the body, or one
	// more while the body's total_pages is not reached.
	StylePage = "page"
	// StyleOffset sends offsets, each the previous plus the records read,
	// until the total (from the body or a header) or an empty page.
	StyleOffset = "offset"
	// StyleCursor sends back a token taken from the body (or the last
	// record's field), until it is empty, has_more is false or a page is empty.
	StyleCursor = "cursor"
	// StyleSingle reads one response.
	StyleSingle = "single"
)

// Styles lists the pagination styles in the order they are documented.
var Styles = []string{StyleAuto, StyleLink, StyleNextURL, StylePage, StyleOffset, StyleCursor, StyleSingle}

// Default query parameter names.
const (
	DefaultPageParam   = "page"
	DefaultOffsetParam = "offset"
	DefaultLimitParam  = "limit"
)

// Bounds of the definition's values; a definition travels in every run's
// workflow input, so it stays small.
const (
	MaxPathLen   = 256
	MaxValueLen  = 1024
	MaxHeaders   = 32
	MaxPageSize  = 100_000
	reservedEnv  = "BLUEPRINT_"
	bearerCompat = "BLUEPRINT_HTTP_BEARER_TOKEN"
)

// Definition is a named HTTP source: the URL and how to read it.
type Definition struct {
	// Name is the source's name in the manifest.
	Name string `json:"name"`
	// URL is the first page's http(s) URL, without user info.
	URL string `json:"url"`
	// Records is the dotted path of the record list in a page (e.g.
	// data.orders); "" means a top-level array, NDJSON, or an envelope with
	// data, items, records or results.
	Records  string   `json:"records,omitempty"`
	Paginate Paginate `json:"paginate"`
	// Fields maps a field the flow reads (DataPipeline's id,
	// customer_email, ...; a flow of one's own, any name that follows
	// CheckFieldName) to the dotted path of its value in a source record.
	// A field left out is read from the member of the same name. Which
	// names a flow reads is the flow's rule, not the definition's: see
	// datapipeline.CheckSource for DataPipeline's.
	Fields map[string]string `json:"fields,omitempty"`
	// Headers are sent with every request to the URL's origin. They are
	// stored in workflow history, so credentials go in Auth.
	Headers map[string]string `json:"headers,omitempty"`
	Auth    Auth              `json:"auth"`
}

// Paginate says how the next page is requested. Body paths are dotted.
type Paginate struct {
	Style string `json:"style,omitempty"` // "" means StyleAuto
	// Next is the body path of the next page's URL (next_url), number
	// (page) or token (cursor).
	Next string `json:"next,omitempty"`
	// PageParam is the page number's query parameter (page style).
	PageParam string `json:"page_param,omitempty"`
	// TotalPages is the body path of the page count (page style).
	TotalPages string `json:"total_pages,omitempty"`
	// OffsetParam is the offset's query parameter (offset style).
	OffsetParam string `json:"offset_param,omitempty"`
	// Total is the body path of the total record count (offset style);
	// TotalHeader the response header that holds it (e.g. X-Total-Count).
	Total       string `json:"total,omitempty"`
	TotalHeader string `json:"total_header,omitempty"`
	// CursorParam is the query parameter the cursor is sent back in.
	CursorParam string `json:"cursor_param,omitempty"`
	// CursorField takes the cursor from the page's last record instead of
	// the body (Stripe's starting_after=<last id>).
	CursorField string `json:"cursor_field,omitempty"`
	// HasMore is the body path of a boolean that is false on the last page.
	HasMore string `json:"has_more,omitempty"`
	// SizeParam and Size ask for pages of Size records (page, offset and
	// cursor styles). The offset style sends limit=Size by default.
	SizeParam string `json:"size_param,omitempty"`
	Size      int    `json:"size,omitempty"`
}

// Auth names the worker environment variables that hold the source's
// credentials. At most one scheme is set.
type Auth struct {
	// BearerEnv holds a token sent as "Authorization: Bearer <token>".
	BearerEnv string `json:"bearer_env,omitempty"`
	// Basic auth: the user name (literal or from an environment variable)
	// and the password's variable.
	BasicUser        string `json:"basic_user,omitempty"`
	BasicUserEnv     string `json:"basic_user_env,omitempty"`
	BasicPasswordEnv string `json:"basic_password_env,omitempty"`
	// Header (e.g. X-Api-Key) is sent with the value of HeaderEnv.
	Header    string `json:"header,omitempty"`
	HeaderEnv string `json:"header_env,omitempty"`
}

// IsZero reports that no auth is declared.
func (a Auth) IsZero() bool { return a == Auth{} }

// EnvNames lists the environment variables the auth reads.
func (a Auth) EnvNames() []string {
	var names []string
	for _, n := range []string{a.BearerEnv, a.BasicUserEnv, a.BasicPasswordEnv, a.HeaderEnv} {
		if n != "" {
			names = append(names, n)
		}
	}
	return names
}

// StyleOrAuto returns the declared style, StyleAuto when none is.
func (p Paginate) StyleOrAuto() string {
	if p.Style == "" {
		return StyleAuto
	}
	return p.Style
}

// RecordFields are the fields DataPipeline reads from a source, in the
// order its records hold them: the JSON names of record.Order, the record
// Transform reads. A mapping of a source DataPipeline reads may name only
// these (datapipeline.CheckSource).
var RecordFields = func() []string {
	t := reflect.TypeOf(record.Order{})
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		names = append(names, strings.Split(t.Field(i).Tag.Get("json"), ",")[0])
	}
	return names
}()

// Problem is one broken rule of a definition; Field is its dotted key
// (e.g. "paginate.style"), "" for the definition as a whole.
type Problem struct {
	Field string
	Msg   string
}

func (p Problem) String() string {
	if p.Field == "" {
		return p.Msg
	}
	return p.Field + ": " + p.Msg
}

// Validate checks every rule and returns the broken ones in field order.
func (d Definition) Validate() []Problem {
	var ps []Problem
	add := func(field string, err error) {
		if err != nil {
			ps = append(ps, Problem{Field: field, Msg: err.Error()})
		}
	}
	add("url", CheckURL(d.URL))
	if d.Records != "" {
		add("records", CheckPath(d.Records))
	}
	ps = append(ps, d.Paginate.validate()...)
	for _, target := range sortedKeys(d.Fields) {
		field := "fields." + target
		if err := CheckFieldName(target); err != nil {
			add(field, err)
			continue
		}
		add(field, CheckPath(d.Fields[target]))
	}
	if len(d.Headers) > MaxHeaders {
		add("headers", fmt.Errorf("%d headers; at most %d", len(d.Headers), MaxHeaders))
	}
	for _, name := range sortedKeys(d.Headers) {
		add("headers."+name, CheckStaticHeader(name, d.Headers[name]))
	}
	ps = append(ps, d.Auth.validate()...)
	return ps
}

func (p Paginate) validate() []Problem {
	var ps []Problem
	add := func(field string, err error) {
		if err != nil {
			ps = append(ps, Problem{Field: "paginate." + field, Msg: err.Error()})
		}
	}
	style := p.StyleOrAuto()
	if err := CheckStyle(style); err != nil {
		add("style", err)
		return ps
	}
	for _, f := range []struct{ name, v string }{{"next", p.Next}, {"total_pages", p.TotalPages}, {"total", p.Total}, {"has_more", p.HasMore}, {"cursor_field", p.CursorField}} {
		if f.v != "" {
			add(f.name, CheckPath(f.v))
		}
	}
	for _, f := range []struct{ name, v string }{{"page_param", p.PageParam}, {"offset_param", p.OffsetParam}, {"cursor_param", p.CursorParam}, {"size_param", p.SizeParam}} {
		if f.v != "" {
			add(f.name, CheckParam(f.v))
		}
	}
	if p.TotalHeader != "" {
		add("total_header", CheckHeaderName(p.TotalHeader))
	}
	if p.Size < 0 || p.Size > MaxPageSize {
		add("size", fmt.Errorf("%d must be from 1 to %d", p.Size, MaxPageSize))
	}
	if p.SizeParam != "" && p.Size == 0 {
		add("size", fmt.Errorf("is missing; size_param %q needs a page size to send", p.SizeParam))
	}
	// Keys that the style does not use are mistakes, not options.
	used := map[string][]string{
		StyleAuto:    {"page_param", "offset_param", "size_param", "size"},
		StyleLink:    {},
		StyleNextURL: {"next"},
		StyleSingle:  {},
		StylePage:    {"next", "page_param", "total_pages", "size_param", "size"},
		StyleOffset:  {"offset_param", "total", "total_header", "size_param", "size"},
		StyleCursor:  {"next", "cursor_param", "cursor_field", "has_more", "size_param", "size"},
	}[style]
	set := map[string]bool{"next": p.Next != "", "page_param": p.PageParam != "", "total_pages": p.TotalPages != "",
		"offset_param": p.OffsetParam != "", "total": p.Total != "", "total_header": p.TotalHeader != "", "cursor_param": p.CursorParam != "",
		"cursor_field": p.CursorField != "", "has_more": p.HasMore != "", "size_param": p.SizeParam != "", "size": p.Size != 0}
	for _, k := range []string{"next", "page_param", "total_pages", "offset_param", "total", "total_header", "cursor_param", "cursor_field", "has_more", "size_param", "size"} {
		if set[k] && !slices.Contains(used, k) {
			add(k, fmt.Errorf("is not used by style %s (it uses: %s)", style, orNone(used)))
		}
	}
	switch style {
	case StylePage:
		if p.Next != "" && p.TotalPages != "" {
			add("total_pages", fmt.Errorf("give next or total_pages, not both"))
		}
	case StyleCursor:
		if p.CursorParam == "" {
			add("cursor_param", fmt.Errorf("is missing; the cursor style sends the cursor back in this query parameter (e.g. starting_after)"))
		}
		switch {
		case p.Next == "" && p.CursorField == "":
			add("next", fmt.Errorf("is missing; give the body path of the next cursor (e.g. meta.next_cursor), or cursor_field"))
		case p.Next != "" && p.CursorField != "":
			add("cursor_field", fmt.Errorf("give next or cursor_field, not both"))
		}
	}
	return ps
}

func orNone(keys []string) string {
	if len(keys) == 0 {
		return "none"
	}
	return strings.Join(keys, ", ")
}

func (a Auth) validate() []Problem {
	var ps []Problem
	add := func(field string, err error) {
		if err != nil {
			ps = append(ps, Problem{Field: strings.TrimSuffix("auth."+field, "."), Msg: err.Error()})
		}
	}
	for _, f := range []struct{ name, v string }{{"bearer_env", a.BearerEnv}, {"basic_user_env", a.BasicUserEnv}, {"basic_password_env", a.BasicPasswordEnv}, {"header_env", a.HeaderEnv}} {
		if f.v != "" {
			add(f.name, CheckEnvName(f.v))
		}
	}
	bearer := a.BearerEnv != ""
	basic := a.BasicUser != "" || a.BasicUserEnv != "" || a.BasicPasswordEnv != ""
	header := a.Header != "" || a.HeaderEnv != ""
	n := 0
	for _, b := range []bool{bearer, basic, header} {
		if b {
			n++
		}
	}
	if n > 1 {
		add("", fmt.Errorf("give one scheme: bearer_env, basic_user/basic_user_env with basic_password_env, or header with header_env"))
		return ps
	}
	if basic {
		switch {
		case a.BasicUser != "" && a.BasicUserEnv != "":
			add("basic_user_env", fmt.Errorf("give basic_user or basic_user_env, not both"))
		case a.BasicUser == "" && a.BasicUserEnv == "":
			add("basic_user", fmt.Errorf("is missing; basic auth needs basic_user or basic_user_env"))
		}
		if a.BasicPasswordEnv == "" {
			add("basic_password_env", fmt.Errorf("is missing; basic auth takes its password from this environment variable"))
		}
		if strings.ContainsAny(a.BasicUser, ":\r\n") {
			add("basic_user", fmt.Errorf("%q must not contain ':' or a line break", a.BasicUser))
		}
	}
	if header {
		if a.Header == "" {
			add("header", fmt.Errorf("is missing; header_env needs the header's name (e.g. X-Api-Key)"))
		} else if err := CheckHeaderName(a.Header); err != nil {
			add("header", err)
		}
		if a.HeaderEnv == "" {
			add("header_env", fmt.Errorf("is missing; the header's value comes from this environment variable"))
		}
	}
	return ps
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// CheckStyle accepts a pagination style name.
func CheckStyle(s string) error {
	if !slices.Contains(Styles, s) {
		return fmt.Errorf("unknown pagination style %q (valid: %s)%s", s, strings.Join(Styles, ", "), suggest.DidYouMean(s, Styles))
	}
	return nil
}

// ErrCredentialsInURL refuses a URL with user info
// (https://user:password@host, https://TOKEN@host). Every URL a run reads
// from is a workflow input: the Temporal server stores it in the run's
// history, and the Web UI and `temporal workflow show` display it to whoever
// can read the namespace. Credentials belong to the worker, which sends them
// to the source's origin only. It is the one statement of the rule: a named
// source's url (CheckURL) and every source_url (sourceurl.Parse)
// are refused with it.
var ErrCredentialsInURL = errors.New("must not carry credentials (user info before the host): " +
	"the URL is stored in the run's history on the Temporal server; " +
	"give them to the worker instead (BLUEPRINT_HTTP_BEARER_TOKEN, or a named source's auth read from the worker's environment)")

// MaxURLLength bounds every source URL a run is given: a page's URL here,
// and a run's source_url (see datapipeline.SourceURLLengthRule).
const MaxURLLength = 4096

// CheckURL accepts an absolute http(s) URL without user info: credentials
// go through auth, never into the workflow input.
func CheckURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("is missing; give the first page's http(s) URL")
	}
	if len(raw) > MaxURLLength || strings.ContainsAny(raw, " \t\r\n") {
		return fmt.Errorf("must be at most %d characters without white space", MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("is not a URL")
	}
	if s := strings.ToLower(u.Scheme); (s != "http" && s != "https") || u.Hostname() == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	if u.User != nil {
		return ErrCredentialsInURL
	}
	return nil
}

// pathRE is a dotted path: non-empty segments without dots or white space.
var pathRE = regexp.MustCompile(`^[^.\s]+(\.[^.\s]+)*$`)

// CheckPath accepts a dotted path such as data.orders or customer.email.
func CheckPath(p string) error {
	if len(p) > MaxPathLen {
		return fmt.Errorf("path is longer than %d characters", MaxPathLen)
	}
	if !pathRE.MatchString(p) {
		return fmt.Errorf("%q is not a dotted path (names separated by single dots, e.g. data.orders)", p)
	}
	return nil
}

// MaxFieldNameLen bounds the name of a field a flow reads.
const MaxFieldNameLen = 64

// FieldNameRule says in words what CheckFieldName accepts.
var FieldNameRule = fmt.Sprintf("letters, digits, '_' and '-', starting with a letter or '_', at most %d characters", MaxFieldNameLen)

var fieldNameRE = regexp.MustCompile(fmt.Sprintf(`^[A-Za-z_][A-Za-z0-9_-]{0,%d}$`, MaxFieldNameLen-1))

// CheckFieldName accepts the name of a field a flow reads from a source:
// a target of a definition's fields: mapping, and each name a flow asks a
// reader for (source.ReadOptions.Fields). It is one member name, never a
// path, so it has no dot; it becomes a member of the records the flow gets.
func CheckFieldName(n string) error {
	if !fieldNameRE.MatchString(n) {
		return fmt.Errorf("%q is not a field name (%s)", n, FieldNameRule)
	}
	return nil
}

// Split returns a checked path's segments.
func Split(p string) []string { return strings.Split(p, ".") }

var paramRE = regexp.MustCompile(`^[A-Za-z0-9_.~\-\[\]]{1,64}$`)

// CheckParam accepts a query parameter name.
func CheckParam(p string) error {
	if !paramRE.MatchString(p) {
		return fmt.Errorf("%q is not a query parameter name (letters, digits, _ . ~ - [ ], at most 64)", p)
	}
	return nil
}

var envRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// CheckEnvName accepts the name of a worker environment variable that the
// manifest refers to for a secret: a source's credential or a webhook's
// URL. The worker's own BLUEPRINT_* configuration (its database URL, codec
// key, ...) is not to be sent anywhere; only BLUEPRINT_HTTP_BEARER_TOKEN,
// which exists for sources, is allowed.
func CheckEnvName(n string) error {
	if !envRE.MatchString(n) {
		return fmt.Errorf("%q is not an environment variable name (letters, digits and _, not starting with a digit)", n)
	}
	if strings.HasPrefix(strings.ToUpper(n), reservedEnv) && n != bearerCompat {
		return fmt.Errorf("%q is the worker's own configuration; the manifest may not name %s* variables (except %s)", n, reservedEnv, bearerCompat)
	}
	return nil
}

var headerRE = regexp.MustCompile("^[!#$%&'*+\\-.^_`|~0-9A-Za-z]{1,64}$")

// CheckHeaderName accepts an HTTP header name.
func CheckHeaderName(h string) error {
	if !headerRE.MatchString(h) {
		return fmt.Errorf("%q is not an HTTP header name", h)
	}
	return nil
}

// credentialWords mark a header name that carries a credential.
var credentialWords = []string{"auth", "cookie", "token", "secret", "key", "password", "signature", "session"}

// CheckStaticHeader accepts a header sent as written. Static headers are
// stored in workflow history, so a header that looks like a credential is
// refused: it belongs in auth, read from the worker's environment.
func CheckStaticHeader(name, value string) error {
	if err := CheckHeaderName(name); err != nil {
		return err
	}
	lower := strings.ToLower(name)
	for _, w := range credentialWords {
		if strings.Contains(lower, w) {
			return fmt.Errorf("%s looks like a credential, and static headers are stored in workflow history; use auth: {header: %s, header_env: VARIABLE}", name, name)
		}
	}
	switch strings.ToLower(name) {
	case "host", "content-length", "accept-encoding", "connection", "transfer-encoding":
		return fmt.Errorf("%s is set by the HTTP client and cannot be overridden", name)
	}
	if len(value) > MaxValueLen || strings.ContainsFunc(value, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return fmt.Errorf("value must be at most %d characters without control characters", MaxValueLen)
	}
	return nil
}

// RefPrefix starts a source_url that names a manifest source: source:NAME.
const RefPrefix = "source:"

// CheckName accepts a source name: a name like a deployment's (see
// internal/names), so that source:NAME reads as a URL and fits in messages.
func CheckName(n string) error {
	if !names.Valid(n) {
		return fmt.Errorf("%q is not a valid source name (%s)", n, names.Rule)
	}
	return nil
}
