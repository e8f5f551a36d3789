package transform

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/blueprint-etl/blueprint/internal/record"
)

var reasons = []string{
	record.ReasonMalformed, record.ReasonMissingID, record.ReasonInvalidEmail,
	record.ReasonMissingCategory, record.ReasonInvalidAmount, record.ReasonNegativeAmount,
	record.ReasonInvalidCurrency, record.ReasonInvalidTimestamp,
}

// FuzzNormalize checks that Normalize never panics, rejects with a known
// reason and a short detail, finds the same members encoding/json does,
// and is idempotent: a clean order, encoded and normalised again, comes
// back unchanged. More seeds are in testdata/fuzz/FuzzNormalize.
func FuzzNormalize(f *testing.F) {
	for _, seed := range []string{
		rec("", ""),
		rec("id", `12`),
		rec("id", `" \u00e9\u0000 "`),
		rec("customer_email", `" A.B+c@Sub.Example.COM "`),
		rec("customer_email", `"Ünï@bücher.de"`),
		rec("category", `"<b>&amp;</b>"`),
		rec("amount", `"-0.0"`),
		rec("amount", `0012.500`),
		rec("amount", `1e3`),
		rec("currency", `"usd"`),
		rec("timestamp", `"2024-03-01 10:00:00.5"`),
		rec("timestamp", `"2024-03-01T10:00:00.123456789-05:30"`),
		rec("timestamp", `4133980799`),
		`{"id":"a","id":"b"}`,
		`{"x":{"y":["}",{"z":"\""}]},"id":"a"}`,
		`[1]`,
		`{`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		o, reason, detail := Normalize(raw)
		if reason != "" {
			if !slices.Contains(reasons, reason) {
				t.Fatalf("unknown reason %q", reason)
			}
			if detail == "" || len(detail) > 300 || !utf8.ValidString(detail) {
				t.Fatalf("bad detail %q", detail)
			}
			checkMembers(t, raw, reason, detail)
			return
		}
		checkMembers(t, raw, reason, detail)
		if detail != "" {
			t.Fatalf("valid record with detail %q", detail)
		}
		if o.ID == "" || o.CustomerEmail != strings.ToLower(o.CustomerEmail) || o.Category == "" ||
			o.Currency != strings.ToUpper(o.Currency) || o.Timestamp.Location().String() != "UTC" {
			t.Fatalf("order is not normalised: %+v", o)
		}
		encoded, err := json.Marshal(o)
		if err != nil {
			t.Fatalf("encode %+v: %v", o, err)
		}
		again, reason, detail := Normalize(encoded)
		if reason != "" {
			t.Fatalf("clean order %s rejected: %s: %s", encoded, reason, detail)
		}
		if again != o {
			t.Fatalf("not idempotent:\n first %+v\nsecond %+v", o, again)
		}
	})
}

// checkMembers compares the members decodeObject found with those
// encoding/json finds, for any JSON object without repeated members.
func checkMembers(t *testing.T, raw []byte, reason, detail string) {
	t.Helper()
	var std map[string]json.RawMessage
	if json.Unmarshal(raw, &std) != nil {
		if reason != record.ReasonMalformed {
			t.Fatalf("encoding/json rejects %q, Normalize says %s", raw, reason)
		}
		return
	}
	if std == nil { // null
		return
	}
	var r rawOrder
	if why, what := decodeObject(raw, &r); why != "" {
		if !strings.Contains(what, "appears more than once") {
			t.Fatalf("decodeObject rejects a JSON object: %s", what)
		}
		return
	}
	for name, got := range map[string]json.RawMessage{
		"id": r.ID, "customer_email": r.CustomerEmail, "category": r.Category,
		"amount": r.Amount, "currency": r.Currency, "timestamp": r.Timestamp,
	} {
		if want, ok := std[name]; ok != (got != nil) || !bytes.Equal(want, got) {
			t.Fatalf("member %q: decodeObject found %q, encoding/json %q", name, got, want)
		}
	}
}
