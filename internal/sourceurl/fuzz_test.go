package sourceurl

import (
	"strings"
	"testing"
)

// FuzzParse: Parse never panics, and an accepted URL
// respects every bound.
func FuzzParse(f *testing.F) {
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
		spec, err := Parse(raw)
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
		case HTTP:
			if spec.URL.Hostname() == "" {
				t.Fatalf("http source %q without host", raw)
			}
		case File:
			if spec.Path == "" || strings.HasSuffix(spec.Path, "/") || strings.ContainsRune(spec.Path, 0) {
				t.Fatalf("file source %q with path %q", raw, spec.Path)
			}
		case Demo:
			if spec.Dataset != "orders" || spec.Latency < 0 || spec.Latency > MaxDemoLatency ||
				!(spec.FailureRate >= 0 && spec.FailureRate <= 1) {
				t.Fatalf("demo source %q: %+v", raw, spec)
			}
		default:
			t.Fatalf("kind %q", spec.Kind)
		}
	})
}
