package redact

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzURL: URL never panics, is idempotent, and hides what url.Parse
// sees as a password or a credential-looking query value.
func FuzzURL(f *testing.F) {
	for _, seed := range []string{
		"demo://orders", "http://example.com", "https://u:p@example.com:8443/x?api_key=k&page=1#frag",
		"http://[::1]:80/", "file:///a/b.csv", "ftp://x", "http://", "x", "", "http://a b", "%zz",
		"https://example.com/?token=a;b=c", "http:u:p@h",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		redacted := URL(raw)
		if URL(redacted) != redacted {
			t.Fatalf("URL is not idempotent: %q -> %q -> %q", raw, redacted, URL(redacted))
		}
		checkRedacted(t, raw, redacted)
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
		t.Fatalf("URL(%q) = %q, which url.Parse rejects: %v", raw, redacted, err)
	}
	if pw, has := u.User.Password(); has && pw != "" {
		rpw, rhas := ru.User.Password()
		if ru.User == nil || !(rhas && rpw == "xxxxx" || !rhas && ru.User.Username() == "xxxxx") {
			t.Fatalf("URL(%q) = %q: password shown", raw, redacted)
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
					t.Fatalf("URL(%q) = %q: %s=%q shown", raw, redacted, k, v)
				}
			}
		}
	}
}

func TestURL(t *testing.T) {
	tests := []struct {
		raw, want string
	}{
		// Nothing to hide: the text is left exactly as written.
		{"", ""},
		{"demo://orders?seed=1", "demo://orders?seed=1"},
		{"http://", "http://"},
		{"http://example.com/a b?q=1 2", "http://example.com/a b?q=1 2"},
		{"https://example.com/x?page=2&monkey_business", "https://example.com/x?page=2&monkey_business"},
		{"file:///data/a@b.json", "file:///data/a@b.json"},
		{"http://[::1]:8080/x#frag", "http://[::1]:8080/x#frag"},
		{"::not a url::", "::not a url::"},
		{"http://example.com/a\nb\x00\x7f", "http://example.com/a%0Ab%00%7F"},
		// User info.
		{"https://user:pw@example.com/x", "https://user:xxxxx@example.com/x"},
		{"postgres://app:p%40ss@db:5432/app?sslmode=disable", "postgres://app:xxxxx@db:5432/app?sslmode=disable"},
		{"https://user:p@ss@example.com/x", "https://user:xxxxx@example.com/x"},
		{"https://user:pw@exa mple.com/x", "https://user:xxxxx@exa mple.com/x"},
		{"http:user:pw@example.com/x", "http:user:xxxxx@example.com/x"},
		{"https://ghp_T0KEN@github.com/x", "https://xxxxx@github.com/x"},
		{"https://sk_live_T0KEN:@api.example.com/x", "https://xxxxx@api.example.com/x"},
		{"https://:pw@example.com/x", "https://xxxxx@example.com/x"},
		{"https://example.com/path@x", "https://example.com/path@x"},
		// Query and fragment parameters.
		{"https://example.com/x?api_key=K&page=2", "https://example.com/x?api_key=xxxxx&page=2"},
		{"https://example.com/x?page=2&TOKEN=T&Secret=S", "https://example.com/x?page=2&TOKEN=xxxxx&Secret=xxxxx"},
		{"https://example.com/x?X-Amz-Signature=S&X-Amz-Credential=C&X-Amz-Date=D", "https://example.com/x?X-Amz-Signature=xxxxx&X-Amz-Credential=xxxxx&X-Amz-Date=D"},
		{"https://example.com/x?password=&pwd=p&passwd=p", "https://example.com/x?password=xxxxx&pwd=xxxxx&passwd=xxxxx"},
		{"https://example.com/x?token=T;page=2", "https://example.com/x?token=xxxxx;page=2"},
		{"https://example.com/x?page=2;token=T", "https://example.com/x?page=2;token=xxxxx"},
		{"https://example.com/x?token=%zzT", "https://example.com/x?token=xxxxx"},
		{"https://example.com/x?api%5Fkey=K", "https://example.com/x?api%5Fkey=xxxxx"},
		{"https://example.com/x?token=a=b", "https://example.com/x?token=xxxxx"},
		{"https://example.com/x?token", "https://example.com/x?token"},
		{"https://example.com/cb#access_token=T&state=s", "https://example.com/cb#access_token=xxxxx&state=s"},
		{"https://u:pw@example.com/x?key=K#sig=S", "https://u:xxxxx@example.com/x?key=xxxxx#sig=xxxxx"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			assert.Equal(t, tt.want, URL(tt.raw))
			assert.Equal(t, tt.want, URL(tt.want), "redacting twice changes nothing")
		})
	}
}

// TestURLNeverShowsSecret builds URLs around one secret in every
// place a credential goes, well-formed or not.
func TestURLNeverShowsSecret(t *testing.T) {
	const secret = "Zq9Secret"
	templates := []string{
		"https://user:%s@example.com/x",
		"https://%s@example.com/x",
		"https://%s:@example.com/x",
		"http://user:%s@exa mple.com:99999/x",
		"http:user:%s@example.com",
		"user:%s@example.com",
		"https://example.com/?token=%s",
		"https://example.com/?a=1&api_key=%s&b=2",
		"https://example.com/?a=1;auth=%s",
		"https://example.com/?sig=%s%%zz",
		"https://example.com/?Authorization=Bearer%%20%s",
		"https://example.com/#access_token=%s",
		"demo://orders?seed=1&credential=%s",
	}
	for _, tmpl := range templates {
		raw := strings.Replace(tmpl, "%s", secret, 1)
		raw = strings.ReplaceAll(raw, "%%", "%")
		t.Run(raw, func(t *testing.T) {
			require.Contains(t, raw, secret)
			got := URL(raw)
			assert.NotContains(t, got, secret)
			assert.Contains(t, got, "xxxxx")
		})
	}
}

func TestObject(t *testing.T) {
	in := map[string]any{"batch_size": float64(5), "source_url": "https://user:s3cret@api.example.com/orders?api_key=k", "note": "plain"}
	out := Object(in)
	assert.NotContains(t, out["source_url"], "s3cret")
	assert.NotContains(t, out["source_url"], "api_key=k")
	assert.Equal(t, float64(5), out["batch_size"])
	assert.Equal(t, "plain", out["note"])
	assert.Contains(t, in["source_url"], "s3cret", "the input is left alone")

	nested := Object(map[string]any{
		"sources": []string{"https://u:s3cret@h/x"},
		"any":     []any{"https://u:s3cret@h/y", 5.0},
		"window":  map[string]any{"url": "https://u:s3cret@h/z"},
	})
	b, err := json.Marshal(nested)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "s3cret", "lists and nested objects too")
}
