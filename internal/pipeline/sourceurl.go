package pipeline

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Source kinds.
const (
	SourceHTTP = "http" // http:// and https:// JSON APIs
	SourceFile = "file" // file:// JSON, NDJSON or CSV files
	SourceDemo = "demo" // the built-in synthetic source
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
// business.
func ParseSourceURL(raw string) (SourceSpec, error) {
	if strings.TrimSpace(raw) == "" {
		return SourceSpec{}, fmt.Errorf("is empty; use http(s)://, file:// or demo://")
	}
	if strings.ContainsAny(raw, " \t\r\n") {
		return SourceSpec{}, fmt.Errorf("must not contain white space")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return SourceSpec{}, fmt.Errorf("is not a URL: %v", strings.TrimPrefix(err.Error(), "parse "+strconv.Quote(raw)+": "))
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
	case "demo":
		spec.Kind = SourceDemo
		if err := parseDemo(u, &spec); err != nil {
			return SourceSpec{}, err
		}
	case "":
		return SourceSpec{}, fmt.Errorf("has no scheme; use http(s)://, file:// or demo://")
	default:
		return SourceSpec{}, fmt.Errorf("scheme %q is not supported; use http, https, file or demo", u.Scheme)
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

// RedactURL hides the password of a URL and the values of query parameters
// that look like credentials, so a URL can be logged, printed or stored.
// Anything it cannot parse is replaced whole.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable URL>"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		changed := false
		for k := range q {
			lk := strings.ToLower(k)
			for _, s := range sensitiveQueryKeys {
				if strings.Contains(lk, s) {
					q[k] = []string{"xxxxx"}
					changed = true
					break
				}
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}
