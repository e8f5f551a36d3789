// Package sourceurl is the grammar of a source URL: demo://, file://,
// http(s):// and source:NAME, with the bounds of each. Parse is the one
// check every entry point goes through (the CLI, the manifest, the
// workflow), and the one place a source's kind is told from its URL. It
// does no I/O and imports no source, so workflow code may use it.
//
// It must not import `internal/source` or `internal/store`: it does no I/O,
// so workflow code may use it.
package sourceurl

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/blueprint-etl/blueprint/internal/names"
	"github.com/blueprint-etl/blueprint/internal/restapi"
)

// Source kinds.
const (
	HTTP = "http" // http:// and https:// JSON APIs
	File = "file" // file:// JSON, NDJSON or CSV files
	Demo = "demo" // the built-in synthetic source
	// Named is source:NAME, a source of the manifest's sources:
	// section; the workflow input carries its definition (Params.Source).
	Named = "source"
)

// DemoDatasets lists the synthetic datasets demo:// serves.
var DemoDatasets = []string{"orders", "products"}

// Bounds of the synthetic source's knobs, so a run cannot be parked forever.
const (
	MaxDemoLatency = time.Minute
)

// Spec is a parsed, validated source_url.
type Spec struct {
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
	// errors on every attempt), so the run fails after its last attempt.
	FailAlways bool
}

// Parse checks a source_url and says which rule it breaks. It does
// no I/O: whether a host answers or a file exists is the Extract activity's
// business. It is the one check every entry point goes through (the CLI's
// --param and --params, the manifest, and the workflow itself for a start
// from the Web UI or the Temporal CLI), so a rule added here holds everywhere.
func Parse(raw string) (Spec, error) {
	if strings.TrimSpace(raw) == "" {
		return Spec{}, fmt.Errorf("is empty; use http(s)://, file://, demo:// or source:NAME")
	}
	if strings.ContainsAny(raw, " \t\r\n") {
		return Spec{}, fmt.Errorf("must not contain white space")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Spec{}, fmt.Errorf("is not a URL: %v", strings.TrimPrefix(err.Error(), "parse "+strconv.Quote(raw)+": "))
	}
	if u.User != nil {
		return Spec{}, restapi.ErrCredentialsInURL
	}
	spec := Spec{URL: u}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		spec.Kind = HTTP
		if u.Host == "" || u.Hostname() == "" {
			return Spec{}, fmt.Errorf("has no host")
		}
		if u.Port() != "" {
			if p, err := strconv.Atoi(u.Port()); err != nil || p < 1 || p > 65535 {
				return Spec{}, fmt.Errorf("port %q is not between 1 and 65535", u.Port())
			}
		}
	case "file":
		spec.Kind = File
		p := u.Path
		if u.Opaque != "" {
			p = u.Opaque // file:relative/path
		}
		if u.Host != "" && u.Host != "localhost" {
			return Spec{}, fmt.Errorf("file URLs name a local path (file:///abs/path or file:rel/path), not host %q", u.Host)
		}
		if p == "" || strings.HasSuffix(p, "/") {
			return Spec{}, fmt.Errorf("has no file path")
		}
		if strings.ContainsRune(p, 0) {
			return Spec{}, fmt.Errorf("path contains a NUL byte")
		}
		spec.Path = p
	case Named:
		spec.Kind, spec.Name = Named, u.Opaque
		if err := restapi.CheckName(u.Opaque); err != nil || u.Host != "" || u.RawQuery != "" || u.Fragment != "" {
			return Spec{}, fmt.Errorf("source:NAME names a source of the manifest's sources: section; NAME is %s", names.Rule)
		}
	case "demo":
		spec.Kind = Demo
		if err := parseDemo(u, &spec); err != nil {
			return Spec{}, err
		}
	case "":
		return Spec{}, fmt.Errorf("has no scheme; use http(s)://, file://, demo:// or source:NAME")
	default:
		return Spec{}, fmt.Errorf("scheme %q is not supported; use http, https, file, demo or source", u.Scheme)
	}
	return spec, nil
}

func parseDemo(u *url.URL, spec *Spec) error {
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
	// Sorted below: the result is deterministic (workflow code calls it).
	//workflowcheck:ignore
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

// Resolve is the one way from a source reference to the source it reads:
// raw is any source URL (http(s)://, file://, demo://) or source:NAME,
// bounded like every source_url parameter (restapi.MaxURLLength) and
// checked by Parse. A source:NAME needs def, the definition of the
// manifest's source NAME (from the run's input), and resolves to the
// http(s) source it describes, with Name and API set; any other URL takes
// no definition. DataPipeline's Extract and the reader a flow of one's own
// opens (source.OpenRef) both go through it, so a reference means the same
// wherever it is read. The error is the rule raw or def breaks, one line,
// without the URL (the caller names it, with credentials hidden).
func Resolve(raw string, def *restapi.Definition) (Spec, error) {
	if len(raw) > restapi.MaxURLLength {
		return Spec{}, fmt.Errorf("must be at most %d characters", restapi.MaxURLLength)
	}
	spec, err := Parse(raw)
	if err != nil {
		return Spec{}, err
	}
	switch {
	case spec.Kind != Named && def != nil:
		return Spec{}, fmt.Errorf("a source definition (of %q) goes with source:%s only", def.Name, def.Name)
	case spec.Kind != Named:
		return spec, nil
	case def == nil:
		return Spec{}, fmt.Errorf("names source %q of the manifest's sources:, but its definition is not given (the blueprint CLI puts it in the run's input)", spec.Name)
	case def.Name != spec.Name:
		return Spec{}, fmt.Errorf("the definition given is of source %q, not %q", def.Name, spec.Name)
	}
	if problems := def.Validate(); len(problems) > 0 {
		return Spec{}, fmt.Errorf("source %q: %s", def.Name, problems[0])
	}
	u, err := Parse(def.URL)
	if err != nil || u.Kind != HTTP {
		return Spec{}, fmt.Errorf("source %q: url is not an http(s) URL", def.Name)
	}
	u.Name, u.API = spec.Name, def
	return u, nil
}

// DefinitionOf picks the definition that goes with ref from a flow's
// input's definitions by name (a map[string]restapi.Definition member
// tagged param:"-", which the blueprint CLI fills): that of source NAME
// for source:NAME, nil for any other URL, and nil for a source:NAME the
// input has no definition of (Resolve then says so). It is what a flow
// hands Resolve or source.OpenRef with ref.
func DefinitionOf(ref string, defs map[string]restapi.Definition) *restapi.Definition {
	spec, err := Parse(ref)
	if err != nil || spec.Kind != Named {
		return nil
	}
	def, ok := defs[spec.Name]
	if !ok {
		return nil
	}
	return &def
}
