package sourceurl

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/restapi"
)

func TestParse(t *testing.T) {
	tests := []struct {
		raw  string
		want Spec // URL is not compared
	}{
		{"http://example.com", Spec{Kind: HTTP}},
		{"HTTPS://Example.com:8443/v1/orders?page=2", Spec{Kind: HTTP}},
		{"http://[::1]:8080/x", Spec{Kind: HTTP}},
		{"file:///abs/orders.csv", Spec{Kind: File, Path: "/abs/orders.csv"}},
		{"file://localhost/abs/orders.csv", Spec{Kind: File, Path: "/abs/orders.csv"}},
		{"file:rel/orders.ndjson", Spec{Kind: File, Path: "rel/orders.ndjson"}},
		{"file:///dir%20with%20space/o.json", Spec{Kind: File, Path: "/dir with space/o.json"}},
		{"demo://orders", Spec{Kind: Demo, Dataset: "orders", Seed: 1}},
		{"demo:orders", Spec{Kind: Demo, Dataset: "orders", Seed: 1}},
		{"demo://orders/", Spec{Kind: Demo, Dataset: "orders", Seed: 1}},
		{
			"demo://orders?seed=42&latency=250ms&failure_rate=0.3&fail=always",
			Spec{Kind: Demo, Dataset: "orders", Seed: 42, Latency: 250 * time.Millisecond, FailureRate: 0.3, FailAlways: true},
		},
		{"demo://orders?fail=never&seed=0", Spec{Kind: Demo, Dataset: "orders", Seed: 0}},
		{"demo://orders?latency=1m&failure_rate=1", Spec{Kind: Demo, Dataset: "orders", Seed: 1, Latency: time.Minute, FailureRate: 1}},
		{"demo://orders?seed=1&seed=7", Spec{Kind: Demo, Dataset: "orders", Seed: 7}}, // the last value counts
		{"demo://products", Spec{Kind: Demo, Dataset: "products", Seed: 1}},
		{"demo://products?seed=5&failure_rate=0.5", Spec{Kind: Demo, Dataset: "products", Seed: 5, FailureRate: 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := Parse(tt.raw)
			require.NoError(t, err)
			require.NotNil(t, got.URL)
			got.URL = nil
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseErrors(t *testing.T) {
	const credentials = "must not carry credentials (user info before the host): " +
		"the URL is stored in the run's history on the Temporal server; " +
		"give them to the worker instead (BLUEPRINT_HTTP_BEARER_TOKEN, or a named source's auth read from the worker's environment)"
	tests := []struct {
		raw, want string
	}{
		{"", "is empty; use http(s)://, file://, demo:// or source:NAME"},
		{" \t", "is empty; use http(s)://, file://, demo:// or source:NAME"},
		{"demo://orders ", "must not contain white space"},
		{"http://a\tb", "must not contain white space"},
		{"orders.csv", "has no scheme; use http(s)://, file://, demo:// or source:NAME"},
		{"/abs/orders.csv", "has no scheme; use http(s)://, file://, demo:// or source:NAME"},
		{"s3://bucket/key", `scheme "s3" is not supported; use http, https, file, demo or source`},
		{"http://", "has no host"},
		{"https://:443", "has no host"},
		{"http:example.com", "has no host"},
		{"http://example.com:0", `port "0" is not between 1 and 65535`},
		{"http://example.com:99999", `port "99999" is not between 1 and 65535`},
		{"http://example.com:x", `is not a URL: invalid port ":x" after host`},
		{"http://exa%zzmple.com", `is not a URL: invalid URL escape "%zz"`},
		{"http://a\x00b", "is not a URL: net/url: invalid control character in URL"},
		{"://x", "is not a URL: missing protocol scheme"},
		{"file://host/x", `file URLs name a local path (file:///abs/path or file:rel/path), not host "host"`},
		{"file://", "has no file path"},
		{"file:", "has no file path"},
		{"file:///dir/", "has no file path"},
		{"file:///a%00b", "path contains a NUL byte"},
		{"demo://nope", `unknown demo dataset "nope"; available: orders, products`},
		{"demo://", `unknown demo dataset ""; available: orders, products`},
		{"demo://ORDERS", `unknown demo dataset "ORDERS"; available: orders, products`},
		{"demo://orders/x", `demo URLs take no path (got "/x")`},
		{"demo://products/x", `demo URLs take no path (got "/x")`},
		{"demo://orders?bogus=1", `unknown demo option "bogus" (valid: seed, latency, failure_rate, fail)`},
		{"demo://orders?seed=-1", `seed="-1" must be a non-negative integer`},
		{"demo://orders?seed=1.5", `seed="1.5" must be a non-negative integer`},
		{"demo://orders?latency=2h", `latency="2h" must be a duration from 0s to 1m0s (like 200ms)`},
		{"demo://orders?latency=-1s", `latency="-1s" must be a duration from 0s to 1m0s (like 200ms)`},
		{"demo://orders?latency=fast", `latency="fast" must be a duration from 0s to 1m0s (like 200ms)`},
		{"demo://orders?failure_rate=1.5", `failure_rate="1.5" must be a number from 0 to 1`},
		{"demo://orders?failure_rate=-0.1", `failure_rate="-0.1" must be a number from 0 to 1`},
		{"demo://orders?failure_rate=NaN", `failure_rate="NaN" must be a number from 0 to 1`},
		{"demo://orders?failure_rate=Inf", `failure_rate="Inf" must be a number from 0 to 1`},
		{"demo://orders?fail=sometimes", `fail="sometimes" must be always or never`},
		{"demo://orders?seed=1;latency=1s", "query is malformed: invalid semicolon separator in query"},
		{"demo://orders?seed=%zz", `query is malformed: invalid URL escape "%zz"`},
		// Credentials in the URL would be stored in the run's history.
		{"https://user:pw@example.com/x", credentials},
		{"https://ghp_T0KEN@github.com/x", credentials},
		{"https://:pw@example.com/x", credentials},
		{"HTTP://u:p@example.com:99999/x", credentials},
		{"file://u:p@localhost/x", credentials},
		{"demo://u@orders", credentials},
		// Options are checked in name order, so the first error is stable.
		{"demo://orders?zeta=1&latency=x", `latency="x" must be a duration from 0s to 1m0s (like 200ms)`},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			_, err := Parse(tt.raw)
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			assert.NotContains(t, err.Error(), "parse ", "url.Parse's prefix, which repeats the URL, is cut")
		})
	}
}

// TestResolve: a reference resolves to the source it reads; a
// source:NAME only with its own definition, to the http(s) source it
// describes.
func TestResolve(t *testing.T) {
	def := &restapi.Definition{Name: "shop", URL: "https://api.example.com/orders", Records: "data"}
	spec, err := Resolve("source:shop", def)
	require.NoError(t, err)
	assert.Equal(t, HTTP, spec.Kind)
	assert.Equal(t, "shop", spec.Name)
	assert.Same(t, def, spec.API)
	assert.Equal(t, "https://api.example.com/orders", spec.URL.String())

	spec, err = Resolve("demo://orders?seed=2", nil)
	require.NoError(t, err)
	assert.Equal(t, Demo, spec.Kind)
	assert.Equal(t, uint64(2), spec.Seed)

	for _, tc := range []struct {
		raw  string
		def  *restapi.Definition
		want string
	}{
		{"https://a.example.com/" + strings.Repeat("x", restapi.MaxURLLength), nil, "must be at most 4096 characters"},
		{"ftp://a.example.com/", nil, `scheme "ftp" is not supported; use http, https, file, demo or source`},
		{"source:shop", nil, `names source "shop" of the manifest's sources:, but its definition is not given (the blueprint CLI puts it in the run's input)`},
		{"source:crm", def, `the definition given is of source "shop", not "crm"`},
		{"https://api.example.com/orders", def, `a source definition (of "shop") goes with source:shop only`},
		{"source:shop", &restapi.Definition{Name: "shop", URL: "file:///etc/passwd"}, `source "shop": url: "file:///etc/passwd" is not an absolute http(s) URL`},
	} {
		_, err := Resolve(tc.raw, tc.def)
		require.Error(t, err, tc.raw)
		assert.Equal(t, tc.want, err.Error(), tc.raw)
	}
}

func TestDefinitionOf(t *testing.T) {
	defs := map[string]restapi.Definition{"shop": {Name: "shop", URL: "https://api.example.com/orders"}}
	assert.Equal(t, defs["shop"], *DefinitionOf("source:shop", defs))
	for _, ref := range []string{"source:crm", "https://api.example.com/orders", "demo://orders", "not a URL", ""} {
		assert.Nil(t, DefinitionOf(ref, defs), ref)
	}
	assert.Nil(t, DefinitionOf("source:shop", nil))
}
