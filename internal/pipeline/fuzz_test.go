package pipeline

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
)

// FuzzParams: decoding any workflow input and validating it never panics,
// and whatever passes Validate is safe to run. More seeds are in
// testdata/fuzz/FuzzParams.
func FuzzParams(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"batch_size":10,"source_url":"demo://orders?seed=3"}`, `{"batch_size":"10"}`,
		`{"batch_size":1.5}`, `{"batch_size":1e9}`, `{"batch_size":-1}`, `{"batchsize":1}`,
		`{"source_url":"https://u:p@h:8080/x?token=t"}`, `{"source_url":"file:rel"}`,
		`[1]`, `"x"`, `null`, `{`, ``, `{"batch_size":1000000}`, `{} {}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var viaUnmarshal, direct Params
		unmarshalErr := json.Unmarshal(data, &viaUnmarshal)
		if err := direct.UnmarshalJSON(data); err != nil {
			t.Fatalf("UnmarshalJSON failed: %v", err)
		}
		for _, p := range []Params{viaUnmarshal, direct, viaUnmarshal.WithDefaults(), direct.WithDefaults()} {
			err := p.Validate()
			if err == nil {
				if p.BatchSize < 1 || p.BatchSize > MaxBatchSize {
					t.Fatalf("batch_size %d passed", p.BatchSize)
				}
				if _, err := ParseSourceURL(p.SourceURL); err != nil {
					t.Fatalf("source_url %q passed but: %v", p.SourceURL, err)
				}
				continue
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("Validate returned %T %v", err, err)
			}
			if again := p.Validate(); again.Error() != err.Error() {
				t.Fatalf("Validate is not deterministic: %q then %q", err, again)
			}
		}
		if unmarshalErr == nil && (viaUnmarshal.BatchSize != direct.BatchSize || viaUnmarshal.SourceURL != direct.SourceURL ||
			(viaUnmarshal.Validate() == nil) != (direct.Validate() == nil)) {
			t.Fatalf("json.Unmarshal gives %+v, UnmarshalJSON %+v", viaUnmarshal, direct)
		}
	})
}

// FuzzParseSourceURL: ParseSourceURL and RedactURL never panic, an accepted
// URL respects every bound, and RedactURL hides what url.Parse sees as a
// password or a credential-looking query value.
func FuzzParseSourceURL(f *testing.F) {
	for _, seed := range []string{
		"demo://orders", "demo://orders?seed=7&latency=10ms&failure_rate=0.5&fail=always", "demo:orders",
		"http://example.com", "https://u:p@example.com:8443/x?api_key=k&page=1#frag", "http://[::1]:80/",
		"file:///a/b.csv", "file:rel.json", "file://localhost/x", "file://host/x", "ftp://x", "http://",
		"demo://orders?latency=2h", "demo://orders?failure_rate=NaN", "x", "", "http://a b", "%zz",
		"https://example.com/?token=a;b=c", "http:u:p@h",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		redacted := RedactURL(raw)
		if RedactURL(redacted) != redacted {
			t.Fatalf("RedactURL is not idempotent: %q -> %q -> %q", raw, redacted, RedactURL(redacted))
		}
		checkRedacted(t, raw, redacted)

		spec, err := ParseSourceURL(raw)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if spec.URL == nil {
			t.Fatal("no URL")
		}
		switch spec.Kind {
		case SourceHTTP:
			if spec.URL.Hostname() == "" {
				t.Fatalf("http source %q without host", raw)
			}
		case SourceFile:
			if spec.Path == "" || strings.HasSuffix(spec.Path, "/") || strings.ContainsRune(spec.Path, 0) {
				t.Fatalf("file source %q with path %q", raw, spec.Path)
			}
		case SourceDemo:
			if spec.Dataset != "orders" || spec.Latency < 0 || spec.Latency > MaxDemoLatency ||
				!(spec.FailureRate >= 0 && spec.FailureRate <= 1) {
				t.Fatalf("demo source %q: %+v", raw, spec)
			}
		default:
			t.Fatalf("kind %q", spec.Kind)
		}
		if err := (Params{BatchSize: 1, SourceURL: raw}).Validate(); err != nil && len(raw) <= 4096 {
			t.Fatalf("ParseSourceURL accepts %q, Validate says %v", raw, err)
		}
	})
}

// checkRedacted checks that what url.Parse finds to be a password, or the
// value of a credential-looking query parameter, is not in redacted.
func checkRedacted(t *testing.T, raw, redacted string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		return
	}
	ru, err := url.Parse(redacted)
	if err != nil {
		t.Fatalf("RedactURL(%q) = %q, which url.Parse rejects: %v", raw, redacted, err)
	}
	if pw, has := u.User.Password(); has && pw != "" {
		rpw, rhas := ru.User.Password()
		if ru.User == nil || !(rhas && rpw == "xxxxx" || !rhas && ru.User.Username() == "xxxxx") {
			t.Fatalf("RedactURL(%q) = %q: password shown", raw, redacted)
		}
	}
	q, err := url.ParseQuery(ru.RawQuery)
	if err != nil {
		return
	}
	for k, vs := range q {
		if isSensitive(k) {
			for _, v := range vs {
				if v != "xxxxx" && v != "" { // "" for a bare name: nothing to hide
					t.Fatalf("RedactURL(%q) = %q: %s=%q shown", raw, redacted, k, v)
				}
			}
		}
	}
}
