package pipeline

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/blueprint-etl/blueprint/internal/names"
	"github.com/blueprint-etl/blueprint/internal/source/restapi"
)

// Source kinds.
const (
	SourceHTTP = "http" // http:// and https:// JSON APIs
	SourceFile = "file" // file:// JSON, NDJSON or CSV files
	SourceDemo = "demo" // the built-in synthetic source
	// SourceNamed is source:NAME, a source of the manifest's sources:
	// section; the workflow input carries its definition (Params.Source).
	SourceNamed = "source"
)

// DemoDatasets lists the synthetic datasets demo:// serves.
var DemoDatasets = []string{"orders"}

// Bounds of the synthetic source's knobs, so a run cannot be parked forever.
const (
	MaxDemoLatency = time.Minute
)

// SourceSpec is a parsed, validated source_url.
type SourceSpec struct {
	Kind string
	URL  *url.URL

	// Name is the manifest name of a source:NAME source.
	Name string
	// API says how an http(s) source of a named definition pages, where
	// its records are, how its fields map and how it authenticates; nil
	// for a plain URL, which is read with auto-detection.
	API *restapi.Definition

	// Path is the file path of a file:// source (absolute, or relative to the
	// worker's file root).
	Path string

	// Demo options (demo://DATASET?seed=&latency=&failure_rate=&fail=).
	Dataset string
	// Seed makes the synthetic records reproducible; the same seed and index
	// always give the same record.
	Seed uint64
	// Latency is added to every page request.
	Latency time.Duration
	// FailureRate is the probability that an attempt meets a transient outage
	// part-way through. Outages are transient by construction: the last
	// attempt the retry policy allows never meets one.
	FailureRate float64
	// FailAlways simulates a source that is down for good (retryable
	// errors on every attempt), so the run fails after MaxAttempts.
	FailAlways bool
}

// ParseSourceURL checks a source_url and says which rule it breaks. It does
// no I/O: whether a host answers or a file exists is the Extract activity's
// business. It is the one check every entry point goes through (the CLI's
// --param and --params, the manifest, and the workflow itself for a start
// from the Web UI or the Temporal CLI), so a rule added here holds everywhere.
func ParseSourceURL(raw string) (SourceSpec, error) {
	if strings.TrimSpace(raw) == "" {
		return SourceSpec{}, fmt.Errorf("is empty; use http(s)://, file://, demo:// or source:NAME")
	}
	if strings.ContainsAny(raw, " \t\r\n") {
		return SourceSpec{}, fmt.Errorf("must not contain white space")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return SourceSpec{}, fmt.Errorf("is not a URL: %v", strings.TrimPrefix(err.Error(), "parse "+strconv.Quote(raw)+": "))
	}
	if u.User != nil {
		return SourceSpec{}, restapi.ErrCredentialsInURL
	}
	spec := SourceSpec{URL: u}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		spec.Kind = SourceHTTP
		if u.Host == "" || u.Hostname() == "" {
			return SourceSpec{}, fmt.Errorf("has no host")
		}
		if u.Port() != "" {
			if p, err := strconv.Atoi(u.Port()); err != nil || p < 1 || p > 65535 {
				return SourceSpec{}, fmt.Errorf("port %q is not between 1 and 65535", u.Port())
			}
		}
	case "file":
		spec.Kind = SourceFile
		p := u.Path
		if u.Opaque != "" {
			p = u.Opaque // file:relative/path
		}
		if u.Host != "" && u.Host != "localhost" {
			return SourceSpec{}, fmt.Errorf("file URLs name a local path (file:///abs/path or file:rel/path), not host %q", u.Host)
		}
		if p == "" || strings.HasSuffix(p, "/") {
			return SourceSpec{}, fmt.Errorf("has no file path")
		}
		if strings.ContainsRune(p, 0) {
			return SourceSpec{}, fmt.Errorf("path contains a NUL byte")
		}
		spec.Path = p
	case SourceNamed:
		spec.Kind, spec.Name = SourceNamed, u.Opaque
		if err := restapi.CheckName(u.Opaque); err != nil || u.Host != "" || u.RawQuery != "" || u.Fragment != "" {
			return SourceSpec{}, fmt.Errorf("source:NAME names a source of the manifest's sources: section; NAME is %s", names.Rule)
		}
	case "demo":
		spec.Kind = SourceDemo
		if err := parseDemo(u, &spec); err != nil {
			return SourceSpec{}, err
		}
	case "":
		return SourceSpec{}, fmt.Errorf("has no scheme; use http(s)://, file://, demo:// or source:NAME")
	default:
		return SourceSpec{}, fmt.Errorf("scheme %q is not supported; use http, https, file, demo or source", u.Scheme)
	}
	return spec, nil
}

func parseDemo(u *url.URL, spec *SourceSpec) error {
	spec.Dataset = u.Host
	if u.Opaque != "" {
		spec.Dataset = u.Opaque
	}
	known := false
	for _, d := range DemoDatasets {
		known = known || d == spec.Dataset
	}
	if !known {
		return fmt.Errorf("unknown demo dataset %q; available: %s", spec.Dataset, strings.Join(DemoDatasets, ", "))
	}
	if u.Path != "" && u.Path != "/" {
		return fmt.Errorf("demo URLs take no path (got %q)", u.Path)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return fmt.Errorf("query is malformed: %v", err)
	}
	spec.Seed = 1
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic: this runs inside workflow code
	for _, key := range keys {
		v := q[key][len(q[key])-1]
		switch key {
		case "seed":
			s, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return fmt.Errorf("seed=%q must be a non-negative integer", v)
			}
			spec.Seed = s
		case "latency":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || d > MaxDemoLatency {
				return fmt.Errorf("latency=%q must be a duration from 0s to %s (like 200ms)", v, MaxDemoLatency)
			}
			spec.Latency = d
		case "failure_rate":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 || f != f {
				return fmt.Errorf("failure_rate=%q must be a number from 0 to 1", v)
			}
			spec.FailureRate = f
		case "fail":
			if v != "always" && v != "never" {
				return fmt.Errorf("fail=%q must be always or never", v)
			}
			spec.FailAlways = v == "always"
		default:
			return fmt.Errorf("unknown demo option %q (valid: seed, latency, failure_rate, fail)", key)
		}
	}
	return nil
}

// sensitiveQueryKeys are query parameters whose values are credentials.
var sensitiveQueryKeys = []string{"key", "token", "secret", "password", "passwd", "pwd", "signature", "sig", "auth", "credential"}

// redacted replaces a hidden credential.
const redacted = "xxxxx"

// RedactURL hides the credentials in a URL so that it can be logged,
// printed or stored:
//   - the password of its user info, or the whole user info when there is
//     no password, because then the user name is the credential
//     (https://TOKEN@host, https://sk_live_x:@api);
//   - the values of query and fragment parameters whose names look like
//     credentials (api_key, token, X-Amz-Signature, access_token, ...).
//
// It works on the text rather than on a parsed URL: a URL that url.Parse
// rejects, or whose query url.ParseQuery drops parts of (a ';', a bad
// %-escape), is the kind a user mistypes and an error message then quotes,
// so it must be redacted just as well. Everything else is left as written
// (but for control characters, %-encoded), so messages show the value the
// user gave.
func RedactURL(raw string) string {
	rest, fragment, hasFragment := strings.Cut(raw, "#")
	rest, query, hasQuery := strings.Cut(rest, "?")
	var b strings.Builder
	b.Grow(len(raw))
	b.WriteString(redactUserinfo(rest))
	if hasQuery {
		b.WriteByte('?')
		redactParams(&b, query)
	}
	if hasFragment {
		b.WriteByte('#')
		redactParams(&b, fragment)
	}
	return escapeControl(b.String())
}

// escapeControl %-encodes ASCII control characters, so that a URL from
// elsewhere (a next-page link, a cursor) cannot break a log line.
func escapeControl(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f {
			const hex = "0123456789ABCDEF"
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// redactUserinfo hides the user info of a URL without query and fragment.
// The authority follows the scheme's ':' (and "//", when present: a
// mistyped "http:user:pw@host" must not leak either) and runs to the
// first '/'; its user info ends at its last '@', as for url.Parse.
func redactUserinfo(s string) string {
	start := schemeLen(s)
	if start > 0 {
		start++ // the ':'
	}
	if strings.HasPrefix(s[start:], "//") {
		start += 2
	}
	authority := s[start:]
	if i := strings.IndexByte(authority, '/'); i >= 0 {
		authority = authority[:i]
	}
	at := strings.LastIndexByte(authority, '@')
	if at < 0 {
		return s
	}
	shown := redacted
	if user, password, ok := strings.Cut(authority[:at], ":"); ok && user != "" && password != "" {
		shown = user + ":" + redacted
	}
	return s[:start] + shown + s[start+at:]
}

// schemeLen is the length of the URL scheme s starts with (RFC 3986:
// ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) followed by ':'), or 0.
func schemeLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return i
		default:
			return 0
		}
	}
	return 0
}

// redactParams writes the name=value pairs of a query or fragment,
// separated by '&' or ';', with the values of sensitive names hidden.
func redactParams(b *strings.Builder, params string) {
	for params != "" {
		i := strings.IndexAny(params, "&;")
		pair, sep := params, ""
		if i >= 0 {
			pair, sep, params = params[:i], params[i:i+1], params[i+1:]
		} else {
			params = ""
		}
		if name, _, ok := strings.Cut(pair, "="); ok && isSensitive(name) {
			pair = name + "=" + redacted
		}
		b.WriteString(pair)
		b.WriteString(sep)
	}
}

// isSensitive reports whether a parameter name (as written, %-escapes and
// all) looks like it names a credential.
func isSensitive(name string) bool {
	if unescaped, err := url.QueryUnescape(name); err == nil {
		name = unescaped
	}
	name = strings.ToLower(name)
	for _, s := range sensitiveQueryKeys {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}
