package dataset

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzNormalize checks that Normalize never panics, returns either a row
// or a known reason with a short detail, gives each value the Go type its
// field's type documents (Value), and is idempotent: a row encoded as a
// record again normalises to the same row.
func FuzzNormalize(f *testing.F) {
	for _, seed := range []string{
		member("", ""),
		member("sku", `"A-\u0000"`),
		member("title", `12.50e3`),
		member("title", "\"\xff\""),
		member("price", `1e400`),
		member("price", `"0.0125e2"`),
		member("price", `-0.00`),
		member("stock", `99999999999999999999`),
		member("stock", `"-0"`),
		member("active", `"false"`),
		member("updated_at", `"0001-01-01 00:00:00.5+00:00"`),
		member("updated_at", `"2024-02-29"`),
		member("launched", `"2024-02-30"`),
		member("email", `" A.B+c@Sub.Example.COM "`),
		member("tier", `null`),
		member("attrs", `[ "\ud83d\ude00", {"a" : "\u0000"} ]`),
		member("attrs", `"\\u0000"`),
		`{"sku":"a","sku":"b"}`,
		`{"x":{"y":["}",{"z":"\""}]},"sku":"A-1","title":"t"}`,
		`[1]`,
		`{`,
		``,
	} {
		f.Add([]byte(seed))
	}
	r := compileProducts(f, nil)
	f.Fuzz(func(t *testing.T, raw []byte) {
		row, reason, detail := r.Normalize(raw)
		if reason != "" {
			if !knownReason(r, reason) {
				t.Fatalf("unknown reason %q", reason)
			}
			if detail == "" || len(detail) > 400 || !utf8.ValidString(detail) {
				t.Fatalf("bad detail %q", detail)
			}
			if row.Key != "" || row.Values != nil || row.Hash != 0 {
				t.Fatalf("rejected with a row: %+v", row)
			}
			return
		}
		if detail != "" {
			t.Fatalf("valid record with detail %q", detail)
		}
		checkTypes(t, r, row)
		encoded := encodeRow(t, r, row)
		again, reason, detail := r.Normalize(encoded)
		if reason != "" {
			t.Fatalf("row %s rejected: %s: %s", encoded, reason, detail)
		}
		if again.Key != row.Key || again.Hash != row.Hash || len(again.Values) != len(row.Values) {
			t.Fatalf("not idempotent:\n first %+v\nsecond %+v", row, again)
		}
		for i := range row.Values {
			if row.Values[i] != again.Values[i] {
				t.Fatalf("%s not idempotent: %#v then %#v", r.fields[i].Name, row.Values[i], again.Values[i])
			}
		}
	})
}

// knownReason reports whether reason is one Normalize may give for r.
func knownReason(r *Rules, reason string) bool {
	if reason == ReasonMalformed {
		return true
	}
	name, rule, ok := strings.Cut(reason, ".")
	_, declared := r.index[name]
	switch rule {
	case RuleRequired, RuleType, RuleMaxLength, RulePrecision, RuleScale, RuleMin, RuleMax, RuleOneOf, RulePattern:
		return ok && declared
	}
	return false
}

// checkTypes fails unless each value has its type's documented Go type
// and normal form.
func checkTypes(t *testing.T, r *Rules, row Row) {
	t.Helper()
	for i, v := range row.Values {
		f := r.fields[i]
		if v == nil {
			if f.Required {
				t.Fatalf("required %s is nil", f.Name)
			}
			continue
		}
		ok := false
		switch f.Type {
		case String, Email, Decimal, Date, JSON:
			var s string
			s, ok = v.(string)
			ok = ok && utf8.ValidString(s)
			switch f.Type {
			case String:
				ok = ok && !strings.ContainsRune(s, 0)
			case Email:
				ok = ok && s == strings.ToLower(strings.TrimSpace(s)) && CheckEmail(s) == ""
			case Decimal:
				d, problem := ParseDecimal(s)
				ok = ok && problem == "" && d.String() == s
			case Date:
				_, err := time.Parse(time.DateOnly, s)
				ok = ok && err == nil
			case JSON:
				ok = ok && json.Valid([]byte(s)) && s != "null"
			}
		case Integer:
			_, ok = v.(int64)
		case Boolean:
			_, ok = v.(bool)
		case Timestamp:
			var ts time.Time
			ts, ok = v.(time.Time)
			ok = ok && ts.Location() == time.UTC && ts.Year() >= MinYear && ts.Year() <= MaxYear
		}
		if !ok {
			t.Fatalf("%s (%s) has %T %#v", f.Name, f.Type, v, v)
		}
	}
}

// encodeRow writes a row as a JSON record of its dataset.
func encodeRow(t *testing.T, r *Rules, row Row) []byte {
	t.Helper()
	b := []byte{'{'}
	for i, v := range row.Values {
		if v == nil {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, r.fields[i].Name...)
		b = append(b, `":`...)
		var enc []byte
		var err error
		switch v := v.(type) {
		case time.Time:
			enc, err = json.Marshal(v.Format(time.RFC3339Nano))
		case string:
			if r.fields[i].Type == JSON {
				enc = []byte(v)
			} else {
				enc, err = json.Marshal(v)
			}
		default:
			enc, err = json.Marshal(v)
		}
		if err != nil {
			t.Fatalf("encode %#v: %v", v, err)
		}
		b = append(b, enc...)
	}
	return append(b, '}')
}
