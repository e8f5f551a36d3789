// Package redact hides credentials in what blueprint prints, logs or
// stores: a URL's password or token, credential-like query parameters, and
// the URLs inside a run's parameters. It is the one place that decides what
// a credential looks like, so the CLI, the workers, the warehouse's error
// messages and the Web UI's details agree. It imports nothing of blueprint.
package redact

import (
	"net/url"
	"strings"
)

// sensitiveQueryKeys are query parameters whose values are credentials.
var sensitiveQueryKeys = []string{"key", "token", "secret", "password", "passwd", "pwd", "signature", "sig", "auth", "credential"}

// redacted replaces a hidden credential.
const redacted = "xxxxx"

// URL hides the credentials in a URL so that it can be logged,
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
func URL(raw string) string {
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

// Object returns a copy of a parameters object with the credentials
// in its URL values hidden (Value), for output and for records.
func Object(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = Value(v)
	}
	return out
}

// Value hides the credentials of a parameter value that is a URL
// (a string with "://", through URL), also inside lists and nested
// objects; other values are returned as they are.
func Value(v any) any {
	switch x := v.(type) {
	case string:
		if strings.Contains(x, "://") {
			return URL(x)
		}
	case []string:
		out := make([]string, len(x))
		for i, s := range x {
			out[i], _ = Value(s).(string)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Value(e)
		}
		return out
	case map[string]any:
		return Object(x)
	}
	return v
}
