package transform

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/record"
)

// absent marks a field the record must not have.
const absent = "<absent>"

// validFields is a valid record, field by field, as raw JSON values.
var validFields = [][2]string{
	{"id", `"ord-1"`},
	{"customer_email", `"alice@example.com"`},
	{"category", `"books"`},
	{"amount", `"12.5"`},
	{"currency", `"EUR"`},
	{"timestamp", `"2024-03-01T10:00:00Z"`},
}

// validOrder is what validFields normalise to.
var validOrder = record.Order{
	ID:            "ord-1",
	CustomerEmail: "alice@example.com",
	Category:      "books",
	Amount:        "12.5",
	Currency:      "EUR",
	Timestamp:     time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC),
}

// rec builds a record from validFields with field replaced by the raw JSON
// value (or left out when value is absent).
func rec(field, value string) string {
	var b strings.Builder
	b.WriteByte('{')
	for _, f := range validFields {
		v := f[1]
		if f[0] == field {
			v = value
		}
		if v == absent {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + f[0] + `":` + v)
	}
	b.WriteByte('}')
	return b.String()
}

// TestNormalizeField checks each rule: the value is the raw JSON of one
// field of an otherwise valid record.
func TestNormalizeField(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		field, value string
		// want is the normalised field (as a string; timestamps as RFC 3339)
		// when reason is empty.
		want   string
		reason string
		// detail, when set, must appear in the rejection's detail.
		detail string
	}{
		// id
		{field: "id", value: `"abc"`, want: "abc"},
		{field: "id", value: `"  abc \t"`, want: "abc"},
		{field: "id", value: `"007"`, want: "007"},
		{field: "id", value: `"\u0061b\"c"`, want: `ab"c`},
		{field: "id", value: `"Ünïcode ✓"`, want: "Ünïcode ✓"},
		{field: "id", value: `42`, want: "42"},
		{field: "id", value: `-7`, want: "-7"},
		{field: "id", value: `-0`, want: "0"},
		{field: "id", value: `123456789012345678901234567890`, want: "123456789012345678901234567890"},
		{field: "id", value: `"` + long(256) + `"`, want: long(256)},
		{field: "id", value: absent, reason: record.ReasonMissingID, detail: "missing"},
		{field: "id", value: `null`, reason: record.ReasonMissingID, detail: "missing"},
		{field: "id", value: `""`, reason: record.ReasonMissingID, detail: "empty"},
		{field: "id", value: `" \t\n "`, reason: record.ReasonMissingID, detail: "empty"},
		{field: "id", value: `1.5`, reason: record.ReasonMissingID, detail: "1.5"},
		{field: "id", value: `1e3`, reason: record.ReasonMissingID, detail: "1e3"},
		{field: "id", value: `true`, reason: record.ReasonMissingID},
		{field: "id", value: `{"v":1}`, reason: record.ReasonMissingID},
		{field: "id", value: `["a"]`, reason: record.ReasonMissingID},
		{field: "id", value: `"` + long(257) + `"`, reason: record.ReasonMissingID, detail: "longer than 256 bytes"},
		{field: "id", value: `"a\u0000b"`, reason: record.ReasonMissingID, detail: "control"},

		// customer_email
		{field: "customer_email", value: `" Alice@Example.COM "`, want: "alice@example.com"},
		{field: "customer_email", value: `"a.b+tag@sub.example.co.uk"`, want: "a.b+tag@sub.example.co.uk"},
		{field: "customer_email", value: `"o'brien_1-x@ex-ample.io"`, want: "o'brien_1-x@ex-ample.io"},
		{field: "customer_email", value: `"ÜSER@Bücher.de"`, want: "üser@bücher.de"},
		{field: "customer_email", value: `"` + long(64) + `@example.com"`, want: long(64) + "@example.com"},
		{field: "customer_email", value: absent, reason: record.ReasonInvalidEmail, detail: "missing"},
		{field: "customer_email", value: `null`, reason: record.ReasonInvalidEmail, detail: "missing"},
		{field: "customer_email", value: `5`, reason: record.ReasonInvalidEmail, detail: "must be a string"},
		{field: "customer_email", value: `""`, reason: record.ReasonInvalidEmail, detail: "empty"},
		{field: "customer_email", value: `"   "`, reason: record.ReasonInvalidEmail, detail: "empty"},
		{field: "customer_email", value: `"alice"`, reason: record.ReasonInvalidEmail, detail: `"alice" has no @`},
		{field: "customer_email", value: `"alice@example"`, reason: record.ReasonInvalidEmail, detail: "no dot"},
		{field: "customer_email", value: `"@example.com"`, reason: record.ReasonInvalidEmail, detail: "empty local part"},
		{field: "customer_email", value: `"a@@example.com"`, reason: record.ReasonInvalidEmail, detail: "more than one @"},
		{field: "customer_email", value: `"a@b@example.com"`, reason: record.ReasonInvalidEmail, detail: "more than one @"},
		{field: "customer_email", value: `"al ice@example.com"`, reason: record.ReasonInvalidEmail, detail: "spaces"},
		{field: "customer_email", value: `"alice@exa\tmple.com"`, reason: record.ReasonInvalidEmail, detail: "spaces"},
		{field: "customer_email", value: `"alice@exam\u00a0ple.com"`, reason: record.ReasonInvalidEmail, detail: "spaces"},
		{field: "customer_email", value: `"Alice <alice@example.com>"`, reason: record.ReasonInvalidEmail},
		{field: "customer_email", value: `"<alice@example.com>"`, reason: record.ReasonInvalidEmail, detail: `contains '<'`},
		{field: "customer_email", value: `"alice@example.com(home)"`, reason: record.ReasonInvalidEmail, detail: `contains '('`},
		{field: "customer_email", value: `"\"al\"@example.com"`, reason: record.ReasonInvalidEmail},
		{field: "customer_email", value: `"a,b@example.com"`, reason: record.ReasonInvalidEmail},
		{field: "customer_email", value: `"alice@.example.com"`, reason: record.ReasonInvalidEmail, detail: "empty domain label"},
		{field: "customer_email", value: `"alice@example.com."`, reason: record.ReasonInvalidEmail, detail: "empty domain label"},
		{field: "customer_email", value: `"alice@example..com"`, reason: record.ReasonInvalidEmail, detail: "empty domain label"},
		{field: "customer_email", value: `".alice@example.com"`, reason: record.ReasonInvalidEmail, detail: "misplaced dot"},
		{field: "customer_email", value: `"alice.@example.com"`, reason: record.ReasonInvalidEmail, detail: "misplaced dot"},
		{field: "customer_email", value: `"al..ice@example.com"`, reason: record.ReasonInvalidEmail, detail: "misplaced dot"},
		{field: "customer_email", value: `"` + long(65) + `@example.com"`, reason: record.ReasonInvalidEmail, detail: "local part longer than 64"},
		{field: "customer_email", value: `"a@` + long(250) + `.com"`, reason: record.ReasonInvalidEmail, detail: "longer than 254"},
		{field: "customer_email", value: `"al\ufffdce@example.com"`, reason: record.ReasonInvalidEmail},

		// category
		{field: "category", value: `" Books "`, want: "books"},
		{field: "category", value: `"HOME & Garden"`, want: "home & garden"},
		{field: "category", value: `"ÉLECTRONIQUE"`, want: "électronique"},
		{field: "category", value: absent, reason: record.ReasonMissingCategory, detail: "missing"},
		{field: "category", value: `null`, reason: record.ReasonMissingCategory, detail: "missing"},
		{field: "category", value: `""`, reason: record.ReasonMissingCategory, detail: "empty"},
		{field: "category", value: `"  "`, reason: record.ReasonMissingCategory, detail: "empty"},
		{field: "category", value: `7`, reason: record.ReasonMissingCategory, detail: "must be a string, got 7"},
		{field: "category", value: `"a\u0007b"`, reason: record.ReasonMissingCategory, detail: "control"},

		// amount
		{field: "amount", value: `"12.50"`, want: "12.5"},
		{field: "amount", value: `"0012.50"`, want: "12.5"},
		{field: "amount", value: `"3.000"`, want: "3"},
		{field: "amount", value: `"3"`, want: "3"},
		{field: "amount", value: `"0"`, want: "0"},
		{field: "amount", value: `"000"`, want: "0"},
		{field: "amount", value: `"0.10"`, want: "0.1"},
		{field: "amount", value: `"-0"`, want: "0"},
		{field: "amount", value: `"-0.0"`, want: "0"},
		{field: "amount", value: `"+0.000"`, want: "0"},
		{field: "amount", value: `"+5"`, want: "5"},
		{field: "amount", value: `" 7.25 "`, want: "7.25"},
		{field: "amount", value: `"0.000001"`, want: "0.000001"},
		{field: "amount", value: `"1.5000000"`, want: "1.5"},
		{field: "amount", value: `"00000000000000000000001"`, want: "1"},
		{field: "amount", value: `"99999999999999.999999"`, want: "99999999999999.999999"},
		{field: "amount", value: `12.50`, want: "12.5"},
		{field: "amount", value: `0`, want: "0"},
		{field: "amount", value: `-0`, want: "0"},
		{field: "amount", value: `-0.0`, want: "0"},
		{field: "amount", value: `100`, want: "100"},
		{field: "amount", value: `0.1`, want: "0.1"},
		// 20 significant digits, where float64 would have rounded long ago.
		{field: "amount", value: `12345678901234.123457`, want: "12345678901234.123457"},
		{field: "amount", value: `99999999999999.999999`, want: "99999999999999.999999"},
		{field: "amount", value: `"000012345678901234"`, want: "12345678901234"},
		{field: "amount", value: `"1e3"`, reason: record.ReasonInvalidAmount, detail: `"1e3" uses an exponent`},
		{field: "amount", value: `1e3`, reason: record.ReasonInvalidAmount, detail: "exponent"},
		{field: "amount", value: `1E3`, reason: record.ReasonInvalidAmount, detail: "exponent"},
		{field: "amount", value: `1.5e-2`, reason: record.ReasonInvalidAmount, detail: "exponent"},
		{field: "amount", value: `"1.2345678"`, reason: record.ReasonInvalidAmount, detail: "more than 6 decimal places"},
		{field: "amount", value: `1.2345678`, reason: record.ReasonInvalidAmount, detail: "more than 6 decimal places"},
		{field: "amount", value: `"1234567890123456789"`, reason: record.ReasonInvalidAmount, detail: "more than 14 integer digits"},
		{field: "amount", value: `1234567890123456789.5`, reason: record.ReasonInvalidAmount, detail: "more than 14 integer digits"},
		// The store holds 14 integer digits: 15 is a rejection with a
		// reason, not a Load that fails the run.
		{field: "amount", value: `123456789012345`, reason: record.ReasonInvalidAmount, detail: `amount "123456789012345" has more than 14 integer digits`},
		{field: "amount", value: `""`, reason: record.ReasonInvalidAmount, detail: "empty"},
		{field: "amount", value: `"  "`, reason: record.ReasonInvalidAmount, detail: "empty"},
		{field: "amount", value: `"abc"`, reason: record.ReasonInvalidAmount, detail: "not a decimal"},
		{field: "amount", value: `"12,50"`, reason: record.ReasonInvalidAmount},
		{field: "amount", value: `"1 000"`, reason: record.ReasonInvalidAmount},
		{field: "amount", value: `"1."`, reason: record.ReasonInvalidAmount, detail: "no digits after"},
		{field: "amount", value: `".5"`, reason: record.ReasonInvalidAmount, detail: "no digits before"},
		{field: "amount", value: `"-"`, reason: record.ReasonInvalidAmount},
		{field: "amount", value: `"--1"`, reason: record.ReasonInvalidAmount},
		{field: "amount", value: `"+-1"`, reason: record.ReasonInvalidAmount},
		{field: "amount", value: `"0x10"`, reason: record.ReasonInvalidAmount},
		{field: "amount", value: `"NaN"`, reason: record.ReasonInvalidAmount},
		{field: "amount", value: `"Infinity"`, reason: record.ReasonInvalidAmount},
		{field: "amount", value: `"$12"`, reason: record.ReasonInvalidAmount},
		{field: "amount", value: absent, reason: record.ReasonInvalidAmount, detail: "missing"},
		{field: "amount", value: `null`, reason: record.ReasonInvalidAmount, detail: "missing"},
		{field: "amount", value: `true`, reason: record.ReasonInvalidAmount, detail: "got true"},
		{field: "amount", value: `[1]`, reason: record.ReasonInvalidAmount},
		{field: "amount", value: `"-3.50"`, reason: record.ReasonNegativeAmount, detail: `"-3.50" is negative`},
		{field: "amount", value: `-3.5`, reason: record.ReasonNegativeAmount},
		{field: "amount", value: `"-0.000001"`, reason: record.ReasonNegativeAmount},
		// Not a valid amount at all beats negative.
		{field: "amount", value: `"-1.2345678"`, reason: record.ReasonInvalidAmount},
		{field: "amount", value: `-1e3`, reason: record.ReasonInvalidAmount},

		// currency
		{field: "currency", value: `"eur"`, want: "EUR"},
		{field: "currency", value: `" usd "`, want: "USD"},
		{field: "currency", value: `"GbP"`, want: "GBP"},
		{field: "currency", value: absent, reason: record.ReasonInvalidCurrency, detail: "missing"},
		{field: "currency", value: `null`, reason: record.ReasonInvalidCurrency, detail: "missing"},
		{field: "currency", value: `978`, reason: record.ReasonInvalidCurrency, detail: "must be a string"},
		{field: "currency", value: `""`, reason: record.ReasonInvalidCurrency},
		{field: "currency", value: `"EU"`, reason: record.ReasonInvalidCurrency, detail: `"EU"`},
		{field: "currency", value: `"EURO"`, reason: record.ReasonInvalidCurrency},
		{field: "currency", value: `"E1R"`, reason: record.ReasonInvalidCurrency},
		{field: "currency", value: `"E R"`, reason: record.ReasonInvalidCurrency},
		{field: "currency", value: `"€"`, reason: record.ReasonInvalidCurrency}, // three bytes, one letter
		{field: "currency", value: `"ÉUR"`, reason: record.ReasonInvalidCurrency},

		// timestamp
		{field: "timestamp", value: `"2024-03-01T10:00:00Z"`, want: "2024-03-01T10:00:00Z"},
		{field: "timestamp", value: `" 2024-03-01T10:00:00Z "`, want: "2024-03-01T10:00:00Z"},
		{field: "timestamp", value: `"2024-03-01T10:00:00+02:00"`, want: "2024-03-01T08:00:00Z"},
		{field: "timestamp", value: `"2024-03-01T10:00:00.123456789-05:30"`, want: "2024-03-01T15:30:00.123456789Z"},
		{field: "timestamp", value: `"2024-01-01T00:30:00+01:00"`, want: "2023-12-31T23:30:00Z"},
		{field: "timestamp", value: `"2024-03-01T10:00:00.5Z"`, want: "2024-03-01T10:00:00.5Z"},
		{field: "timestamp", value: `"2024-03-01 10:00:00"`, want: "2024-03-01T10:00:00Z"},
		{field: "timestamp", value: `"2024-03-01T10:00:00"`, want: "2024-03-01T10:00:00Z"},
		{field: "timestamp", value: `"2024-03-01T10:00:00.25"`, want: "2024-03-01T10:00:00.25Z"},
		{field: "timestamp", value: `1709287200`, want: "2024-03-01T10:00:00Z"},
		{field: "timestamp", value: `0`, want: "1970-01-01T00:00:00Z"},
		{field: "timestamp", value: `"1970-01-01T00:00:00Z"`, want: "1970-01-01T00:00:00Z"},
		{field: "timestamp", value: `"2100-12-31T23:59:59Z"`, want: "2100-12-31T23:59:59Z"},
		{field: "timestamp", value: `4133980799`, want: "2100-12-31T23:59:59Z"},
		{field: "timestamp", value: `"1969-12-31T23:59:59Z"`, reason: record.ReasonInvalidTimestamp, detail: "outside the years 1970 to 2100"},
		{field: "timestamp", value: `"1970-01-01T00:30:00+01:00"`, reason: record.ReasonInvalidTimestamp, detail: "outside"},
		{field: "timestamp", value: `"2101-01-01T00:00:00Z"`, reason: record.ReasonInvalidTimestamp, detail: "outside"},
		{field: "timestamp", value: `4133980800`, reason: record.ReasonInvalidTimestamp, detail: "outside"},
		{field: "timestamp", value: `-1`, reason: record.ReasonInvalidTimestamp, detail: "outside"},
		{field: "timestamp", value: `99999999999999999999`, reason: record.ReasonInvalidTimestamp, detail: "out of range"},
		{field: "timestamp", value: `1709287200.5`, reason: record.ReasonInvalidTimestamp, detail: "got 1709287200.5"},
		{field: "timestamp", value: `1.7e9`, reason: record.ReasonInvalidTimestamp},
		{field: "timestamp", value: `"1709287200"`, reason: record.ReasonInvalidTimestamp, detail: `"1709287200" is not RFC 3339`},
		{field: "timestamp", value: `"yesterday"`, reason: record.ReasonInvalidTimestamp},
		{field: "timestamp", value: `"2024-03-01"`, reason: record.ReasonInvalidTimestamp},
		{field: "timestamp", value: `"2024-02-30T00:00:00Z"`, reason: record.ReasonInvalidTimestamp},
		{field: "timestamp", value: `"2024-03-01T25:00:00Z"`, reason: record.ReasonInvalidTimestamp},
		{field: "timestamp", value: `"2024-03-01 10:00:00Z"`, reason: record.ReasonInvalidTimestamp},
		{field: "timestamp", value: `"03/01/2024 10:00"`, reason: record.ReasonInvalidTimestamp},
		{field: "timestamp", value: `""`, reason: record.ReasonInvalidTimestamp},
		{field: "timestamp", value: absent, reason: record.ReasonInvalidTimestamp, detail: "missing"},
		{field: "timestamp", value: `null`, reason: record.ReasonInvalidTimestamp, detail: "missing"},
		{field: "timestamp", value: `true`, reason: record.ReasonInvalidTimestamp},
	}
	for _, tt := range tests {
		raw := rec(tt.field, tt.value)
		t.Run(tt.field+"="+truncate(tt.value, 40), func(t *testing.T) {
			o, reason, detail := Normalize([]byte(raw))
			if tt.reason != "" {
				assert.Equal(t, tt.reason, reason, "record %s (detail %q)", raw, detail)
				assert.NotEmpty(t, detail)
				assert.Contains(t, detail, tt.detail)
				assert.LessOrEqual(t, utf8.RuneCountInString(detail), 200, "detail is short")
				if tt.field != "id" {
					assert.Equal(t, "ord-1", o.ID, "the id of a rejected record is kept")
				}
				return
			}
			require.Empty(t, reason, "record %s: %s", raw, detail)
			require.Empty(t, detail)
			want := validOrder
			switch tt.field {
			case "id":
				want.ID = tt.want
			case "customer_email":
				want.CustomerEmail = tt.want
			case "category":
				want.Category = tt.want
			case "amount":
				want.Amount = tt.want
			case "currency":
				want.Currency = tt.want
			case "timestamp":
				ts, err := time.Parse(time.RFC3339Nano, tt.want)
				require.NoError(t, err)
				want.Timestamp = ts
			}
			assert.Equal(t, want, o)
			assert.Equal(t, time.UTC, o.Timestamp.Location())
		})
	}
}

// TestNormalizeRecord covers the record as a whole: its JSON shape, the
// order the rules run in, and the members it ignores.
func TestNormalizeRecord(t *testing.T) {
	valid := rec("", "")
	tests := []struct {
		name   string
		raw    string
		want   record.Order // when reason is empty
		reason string
		detail string
	}{
		{name: "valid", raw: valid, want: validOrder},
		{name: "surrounding white space", raw: " \t" + valid + "\r\n", want: validOrder},
		{name: "white space between tokens", raw: strings.NewReplacer(`":`, `" :  `, `,"`, " ,\n\"").Replace(valid), want: validOrder},
		{
			name: "extra members of every kind are ignored",
			raw: `{"note":"}{\"[","id":"ord-1","nested":{"id":"other","a":[1,{"b":"]}"}],"c":{}},"customer_email":"alice@example.com",` +
				`"list":[[],[[]],{}],"category":"books","n":-1.5e3,"amount":"12.5","t":true,"f":false,"z":null,"currency":"EUR","timestamp":"2024-03-01T10:00:00Z","e":"\\"}`,
			want: validOrder,
		},
		{name: "members in any order", raw: `{"timestamp":"2024-03-01T10:00:00Z","currency":"EUR","amount":"12.5","category":"books","customer_email":"alice@example.com","id":"ord-1"}`, want: validOrder},
		{name: "escaped member name", raw: strings.Replace(valid, `"id"`, `"\u0069d"`, 1), want: validOrder},
		{name: "member names are case-sensitive", raw: strings.Replace(valid, `"id"`, `"ID"`, 1), reason: record.ReasonMissingID},
		{name: "repeated member", raw: strings.Replace(valid, `{`, `{"id":"other",`, 1), reason: record.ReasonMalformed, detail: `"id" appears more than once`},
		{name: "repeated ignored member is fine", raw: strings.Replace(valid, `{`, `{"x":1,"x":2,`, 1), want: validOrder},
		{name: "empty object fails the first rule", raw: `{}`, reason: record.ReasonMissingID},
		{name: "first failing rule wins", raw: `{"id":"a","customer_email":"nope","category":"","amount":"x","currency":"1","timestamp":"x"}`, reason: record.ReasonInvalidEmail},
		{name: "amount before currency", raw: `{"id":"a","customer_email":"a@b.co","category":"c","amount":"-1","currency":"1","timestamp":"x"}`, reason: record.ReasonNegativeAmount},
		{name: "array", raw: `[1,2]`, reason: record.ReasonMalformed, detail: "not a JSON object but a JSON array"},
		{name: "string", raw: `"x"`, reason: record.ReasonMalformed, detail: "JSON string"},
		{name: "number", raw: `42`, reason: record.ReasonMalformed, detail: "JSON number"},
		{name: "null", raw: `null`, reason: record.ReasonMalformed, detail: "JSON null"},
		{name: "boolean", raw: `true`, reason: record.ReasonMalformed, detail: "JSON boolean"},
		{name: "empty", raw: ``, reason: record.ReasonMalformed, detail: "empty"},
		{name: "blank", raw: " \n ", reason: record.ReasonMalformed, detail: "empty"},
		{name: "white space JSON does not allow", raw: "\v" + valid, reason: record.ReasonMalformed, detail: "invalid JSON"},
		{name: "non-breaking space", raw: "\u00a0" + valid, reason: record.ReasonMalformed, detail: "invalid JSON"},
		{name: "truncated", raw: `{"id":"a",`, reason: record.ReasonMalformed, detail: "invalid JSON"},
		{name: "trailing comma", raw: `{"id":"a",}`, reason: record.ReasonMalformed, detail: "invalid JSON: invalid character '}'"},
		{name: "single quotes", raw: `{'id':'a'}`, reason: record.ReasonMalformed},
		{name: "two objects", raw: valid + valid, reason: record.ReasonMalformed, detail: "after top-level value"},
		{name: "raw control character in a string", raw: strings.Replace(valid, "ord-1", "ord\x01", 1), reason: record.ReasonMalformed},
		{name: "NaN", raw: strings.Replace(valid, `"12.5"`, `NaN`, 1), reason: record.ReasonMalformed},
		{name: "invalid UTF-8 is replaced, then judged", raw: strings.Replace(valid, "books", "bo\xffks", 1), want: func() record.Order {
			o := validOrder
			o.Category = "bo\ufffdks"
			return o
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, reason, detail := Normalize([]byte(tt.raw))
			if tt.reason != "" {
				assert.Equal(t, tt.reason, reason, detail)
				assert.Contains(t, detail, tt.detail)
				return
			}
			require.Empty(t, reason, detail)
			assert.Equal(t, tt.want, o)
		})
	}
}

// TestNormalizeDetailTruncated checks that a huge bad value does not make a
// huge detail, and that the cut does not split a character.
func TestNormalizeDetailTruncated(t *testing.T) {
	for _, field := range []string{"id", "customer_email", "amount", "currency", "timestamp"} {
		t.Run(field, func(t *testing.T) {
			value := `"` + strings.Repeat("é", 10_000) + `"`
			if field == "id" {
				value = `"` + strings.Repeat("é", 10_000) + `\u0000"`
			}
			_, reason, detail := Normalize([]byte(rec(field, value)))
			require.NotEmpty(t, reason)
			assert.Less(t, len(detail), 250)
			assert.True(t, utf8.ValidString(detail))
			assert.Contains(t, detail, "é…")
		})
	}
}

func TestCanonicalDecimalIdempotent(t *testing.T) {
	for _, s := range []string{"0", "-0.0", "0012.50", "3.000", "+7", "99999999999999.999999", "0.000001", "1.5000000"} {
		canon, negative, problem := canonicalDecimal(s)
		require.Empty(t, problem, s)
		require.False(t, negative, s)
		again, _, problem := canonicalDecimal(canon)
		require.Empty(t, problem)
		assert.Equal(t, canon, again, "canonical form of %q is stable", s)
	}
}
