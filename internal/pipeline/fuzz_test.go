package pipeline

import (
	"net/url"
	"strings"
	"testing"
)

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
