package dataset

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// absent marks a member the record must not have.
const absent = "<absent>"

// validMembers is a valid products record, member by member.
var validMembers = [][2]string{
	{"sku", `"SKU-1"`},
	{"title", `"Teapot"`},
	{"price", `"12.50"`},
	{"stock", `3`},
	{"active", `true`},
	{"updated_at", `"2024-03-01T10:00:00+02:00"`},
	{"launched", `"2023-12-31"`},
	{"email", `" Buyer@Example.COM "`},
	{"tier", `"pro"`},
	{"attrs", `{"color": "red", "sizes": [1, 2]}`},
}

// validValues is what validMembers normalise to.
var validValues = []Value{
	"SKU-1", "Teapot", "12.5", int64(3), true,
	time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC), "2023-12-31", "buyer@example.com", "pro",
	`{"color":"red","sizes":[1,2]}`,
}

// member builds a products record from validMembers with member name set
// to the raw JSON value (or left out when value is absent).
func member(name, value string) string {
	var b strings.Builder
	b.WriteByte('{')
	for _, m := range validMembers {
		v := m[1]
		if m[0] == name {
			v = value
		}
		if v == absent {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + m[0] + `":` + v)
	}
	b.WriteByte('}')
	return b.String()
}

func compileProducts(t testing.TB, change func(d *Definition)) *Rules {
	d := products()
	if change != nil {
		change(&d)
	}
	r, err := Compile(d)
	require.NoError(t, err)
	return r
}

func TestNormalizeValid(t *testing.T) {
	r := compileProducts(t, nil)
	row, reason, detail := r.Normalize([]byte(member("", "")))
	require.Empty(t, reason, detail)
	assert.Equal(t, validValues, row.Values)
	assert.Equal(t, "SKU-1", row.Key)
	assert.NotZero(t, row.Hash)
}

// TestNormalizeField checks each type and rule: value is the raw JSON of
// one member of an otherwise valid products record.
func TestNormalizeField(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		field, value string
		want         Value  // the normal form, when rule is ""
		rule         string // the rule broken: the reason is field.rule
		detail       string // a part of the detail, when set
	}{
		// string
		{field: "title", value: `"  Tea pot \t"`, want: "  Tea pot \t"},
		{field: "title", value: `"\u0054e\"a\\"`, want: `Te"a\`},
		{field: "title", value: `"Ünïcode ✓ \ud83d\ude00"`, want: "Ünïcode ✓ 😀"},
		{field: "title", value: `42`, want: "42"},
		{field: "title", value: `-1.50e3`, want: "-1.50e3"},
		{field: "title", value: `""`, want: ""},
		{field: "title", value: `"` + long(500) + `"`, want: long(500)},
		{field: "title", value: `"` + strings.Repeat("é", 500) + `"`, want: strings.Repeat("é", 500)},
		{field: "title", value: `"` + long(501) + `"`, rule: RuleMaxLength, detail: `title is longer than 500 characters: "xxx`},
		{field: "title", value: `"` + long(100000) + `"`, rule: RuleMaxLength, detail: "…"},
		{field: "title", value: absent, rule: RuleRequired, detail: "title is missing"},
		{field: "title", value: `null`, rule: RuleRequired, detail: "title is null"},
		{field: "title", value: `true`, rule: RuleType, detail: "must be a string, got true"},
		{field: "title", value: `{"a":1}`, rule: RuleType},
		{field: "title", value: `["a"]`, rule: RuleType},
		{field: "title", value: `"a\u0000b"`, rule: RuleType, detail: "NUL"},
		{field: "title", value: "\"a\xffb\"", rule: RuleType, detail: "not valid UTF-8"},
		{field: "title", value: `"a\ud800b"`, rule: RuleType, detail: "not valid UTF-8"},
		{field: "title", value: `"\udc00"`, rule: RuleType},
		{field: "tier", value: `"enterprise"`, want: "enterprise"},
		{field: "tier", value: absent, want: nil},
		{field: "tier", value: `null`, want: nil},
		{field: "tier", value: `"Pro"`, rule: RuleOneOf, detail: `tier "Pro" is not one of free, pro, enterprise`},
		{field: "tier", value: `""`, rule: RuleOneOf},
		{field: "sku", value: `"SKU-99"`, want: "SKU-99"},
		{field: "sku", value: `"sku-99"`, rule: RulePattern, detail: `sku "sku-99" does not match ^[A-Z]+-\d+$`},

		// integer
		{field: "stock", value: `0`, want: int64(0)},
		{field: "stock", value: `-0`, want: int64(0)},
		{field: "stock", value: `"  17 "`, want: int64(17)},
		{field: "stock", value: `"+17"`, want: int64(17)},
		{field: "stock", value: `"007"`, want: int64(7)},
		{field: "stock", value: `9223372036854775807`, want: int64(9223372036854775807)},
		{field: "stock", value: `9223372036854775808`, rule: RuleType, detail: "out of range"},
		{field: "stock", value: `99999999999999999999`, rule: RuleType, detail: `stock "99999999999999999999" is out of range`},
		{field: "stock", value: `1e400`, rule: RuleType, detail: "must be an integer, got 1e400"},
		{field: "stock", value: `1.5`, rule: RuleType},
		{field: "stock", value: `1.0`, rule: RuleType},
		{field: "stock", value: `1e3`, rule: RuleType},
		{field: "stock", value: `"12abc"`, rule: RuleType},
		{field: "stock", value: `"1_000"`, rule: RuleType},
		{field: "stock", value: `""`, rule: RuleType},
		{field: "stock", value: `true`, rule: RuleType},
		{field: "stock", value: `-1`, rule: RuleMin, detail: "stock -1 is below the min 0"},
		{field: "stock", value: `"-9223372036854775808"`, rule: RuleMin},

		// decimal
		{field: "price", value: `12.5`, want: "12.5"},
		{field: "price", value: `"0012.50"`, want: "12.5"},
		{field: "price", value: `" 3.000 "`, want: "3"},
		{field: "price", value: `"-0.00"`, want: "0"},
		{field: "price", value: `0`, want: "0"},
		{field: "price", value: `"+7"`, want: "7"},
		{field: "price", value: `9999999999.99`, want: "9999999999.99"},
		{field: "price", value: `1.5e3`, want: "1500"},
		{field: "price", value: `1.5E+3`, want: "1500"},
		{field: "price", value: `125e-2`, want: "1.25"},
		{field: "price", value: `"0.0125e2"`, want: "1.25"},
		{field: "price", value: `0e999999999999`, want: "0"},
		{field: "price", value: `12.345e1`, want: "123.45"},
		{field: "price", value: `1e400`, rule: RulePrecision, detail: "more than 10 integer digits (precision 12, scale 2)"},
		{field: "price", value: `1e-400`, rule: RuleScale, detail: "more than 2 decimal places"},
		{field: "price", value: `1e99999999999999999999`, rule: RulePrecision},
		{field: "price", value: `99999999999999999999`, rule: RulePrecision},
		{field: "price", value: `12345678901`, rule: RulePrecision},
		{field: "price", value: `"1.234"`, rule: RuleScale, detail: `price "1.234" has more than 2 decimal places (scale 2)`},
		{field: "price", value: `1.2300000`, want: "1.23"},
		{field: "price", value: `"1e"`, rule: RuleType, detail: "invalid exponent"},
		{field: "price", value: `"1e+-3"`, rule: RuleType, detail: "invalid exponent"},
		{field: "price", value: `"1e++3"`, rule: RuleType},
		{field: "price", value: `".5"`, rule: RuleType, detail: "no digits before"},
		{field: "price", value: `"5."`, rule: RuleType, detail: "no digits after"},
		{field: "price", value: `"12,50"`, rule: RuleType, detail: "not a decimal number"},
		{field: "price", value: `"NaN"`, rule: RuleType},
		{field: "price", value: `"Infinity"`, rule: RuleType},
		{field: "price", value: `""`, rule: RuleType, detail: "is empty"},
		{field: "price", value: `false`, rule: RuleType, detail: "must be a decimal number, got false"},
		{field: "price", value: `"-0.01"`, rule: RuleMin, detail: "price -0.01 is below the min 0"},
		{field: "price", value: `-1e0`, rule: RuleMin},

		// boolean
		{field: "active", value: `false`, want: false},
		{field: "active", value: `"true"`, want: true},
		{field: "active", value: `"false"`, want: false},
		{field: "active", value: `1`, rule: RuleType, detail: "must be true or false, got 1"},
		{field: "active", value: `"yes"`, rule: RuleType},
		{field: "active", value: `"True"`, rule: RuleType},

		// timestamp
		{field: "updated_at", value: `"2024-03-01T10:00:00Z"`, want: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)},
		{field: "updated_at", value: `"2024-03-01T10:00:00.123456789-05:30"`, want: time.Date(2024, 3, 1, 15, 30, 0, 123456789, time.UTC)},
		{field: "updated_at", value: `"2024-03-01 10:00:00+01:00"`, want: time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)},
		{field: "updated_at", value: `"2024-03-01 10:00:00.5"`, want: time.Date(2024, 3, 1, 10, 0, 0, 500000000, time.UTC)},
		{field: "updated_at", value: `"2024-03-01T10:00:00"`, want: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)},
		{field: "updated_at", value: `"2024-03-01"`, want: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)},
		{field: "updated_at", value: `"0001-01-01T00:00:00Z"`, want: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{field: "updated_at", value: `"9999-12-31T23:59:59.999999999Z"`, want: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		{field: "updated_at", value: `"0001-01-01T00:00:00+01:00"`, rule: RuleType, detail: "outside the years 1 to 9999"},
		{field: "updated_at", value: `"9999-12-31T23:00:00-02:00"`, rule: RuleType, detail: "outside the years"},
		{field: "updated_at", value: `"0000-06-01T00:00:00Z"`, rule: RuleType},
		{field: "updated_at", value: `1700000000`, rule: RuleType, detail: "must be an RFC 3339 timestamp string, got 1700000000"},
		{field: "updated_at", value: `"01/03/2024"`, rule: RuleType, detail: `updated_at "01/03/2024" is not an RFC 3339 timestamp`},
		{field: "updated_at", value: `"2024-02-30T10:00:00Z"`, rule: RuleType},
		{field: "updated_at", value: `"2024-03-01T25:00:00Z"`, rule: RuleType},
		{field: "updated_at", value: `""`, rule: RuleType},

		// date
		{field: "launched", value: `"2024-02-29"`, want: "2024-02-29"},
		{field: "launched", value: `" 2024-02-29 "`, want: "2024-02-29"},
		{field: "launched", value: `"2023-02-29"`, rule: RuleType, detail: `launched "2023-02-29" is not a date YYYY-MM-DD`},
		{field: "launched", value: `"2024-2-9"`, rule: RuleType},
		{field: "launched", value: `"2024-03-01T00:00:00Z"`, rule: RuleType},
		{field: "launched", value: `"0000-01-01"`, rule: RuleType},
		{field: "launched", value: `20240301`, rule: RuleType},

		// email
		{field: "email", value: `"ÜSER@Bücher.de"`, want: "üser@bücher.de"},
		{field: "email", value: `"alice"`, rule: RuleType, detail: `email "alice" has no @`},
		{field: "email", value: `"a b@example.com"`, rule: RuleType, detail: "spaces"},
		{field: "email", value: `"   "`, rule: RuleType, detail: "is empty"},
		{field: "email", value: `5`, rule: RuleType, detail: "must be a string"},
		{field: "email", value: "\"a\xff@example.com\"", rule: RuleType},
		{field: "email", value: `"` + long(65) + `@example.com"`, rule: RuleType, detail: "local part longer than 64"},

		// json
		{field: "attrs", value: `[ 1 , "a b" , {"k" : null} ]`, want: `[1,"a b",{"k":null}]`},
		{field: "attrs", value: `"text"`, want: `"text"`},
		{field: "attrs", value: `12.50`, want: `12.50`},
		{field: "attrs", value: `false`, want: `false`},
		{field: "attrs", value: `{}`, want: `{}`},
		{field: "attrs", value: `"\ud83d\ude00"`, want: `"\ud83d\ude00"`},
		{field: "attrs", value: `"\\u0000"`, want: `"\\u0000"`},
		{field: "attrs", value: `{"a":"\u0000"}`, rule: RuleType, detail: `contains \u0000`},
		{field: "attrs", value: `["\ud800"]`, rule: RuleType, detail: "lone surrogate"},
		{field: "attrs", value: "[\"\xff\"]", rule: RuleType, detail: "UTF-8"},
		{field: "attrs", value: strings.Repeat("[", 5000) + strings.Repeat("]", 5000), want: strings.Repeat("[", 5000) + strings.Repeat("]", 5000)},
	}
	r := compileProducts(t, func(d *Definition) { d.Fields[0].Pattern = `^[A-Z]+-\d+$` })
	index := map[string]int{}
	for i, f := range products().Fields {
		index[f.Name] = i
	}
	for _, tt := range tests {
		t.Run(tt.field+"="+show([]byte(tt.value)), func(t *testing.T) {
			row, reason, detail := r.Normalize([]byte(member(tt.field, tt.value)))
			if tt.rule != "" {
				assert.Equal(t, FieldReason(tt.field, tt.rule), reason, detail)
				assert.Contains(t, detail, tt.detail)
				assert.LessOrEqual(t, len(detail), 300)
				assert.True(t, utf8.ValidString(detail), detail)
				assert.Zero(t, row)
				return
			}
			require.Empty(t, reason, detail)
			assert.Equal(t, tt.want, row.Values[index[tt.field]])
		})
	}
}

func TestNormalizeRecord(t *testing.T) {
	r := compileProducts(t, nil)
	tests := []struct {
		name, raw string
		reason    string
		detail    string
	}{
		{name: "empty", raw: ``, reason: ReasonMalformed, detail: "empty record"},
		{name: "spaces", raw: " \t\r\n", reason: ReasonMalformed, detail: "empty record"},
		{name: "truncated", raw: `{"sku":"a",`, reason: ReasonMalformed, detail: "invalid JSON"},
		{name: "array", raw: `[1]`, reason: ReasonMalformed, detail: "not a JSON object but a JSON array"},
		{name: "null", raw: `null`, reason: ReasonMalformed, detail: "JSON null"},
		{name: "string", raw: `"x"`, reason: ReasonMalformed},
		{name: "two objects", raw: `{}{}`, reason: ReasonMalformed},
		{name: "repeated field", raw: `{"sku":"A-1","sku":"A-2","title":"t"}`, reason: ReasonMalformed, detail: `member "sku" appears more than once`},
		{name: "repeated via escape", raw: `{"sku":"A-1","\u0073ku":"A-2","title":"t"}`, reason: ReasonMalformed, detail: "more than once"},
		{name: "repeated undeclared", raw: `{"sku":"A-1","x":1,"x":2,"title":"t"}`},
		{name: "escaped name", raw: `{"\u0073ku":"A-1","title":"t"}`},
		{name: "case differs", raw: `{"SKU":"A-1","title":"t"}`, reason: "sku.required"},
		{name: "odd names", raw: `{"":1,"\"}":{"sku":"no"},"sku":"A-1","title":"t","sku ":2}`},
		{name: "deep nesting ignored", raw: `{"x":` + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + `,"sku":"A-1","title":"t"}`},
		{name: "too deep", raw: `{"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, reason: ReasonMalformed, detail: "exceeded max depth"},
		{name: "huge field ignored", raw: `{"x":"` + strings.Repeat("y", 1<<20) + `","sku":"A-1","title":"t"}`},
		{name: "first broken field wins", raw: `{"title":5,"price":"x"}`, reason: "sku.required"},
		{name: "invalid UTF-8 in an ignored member", raw: "{\"x\":\"\xff\",\"sku\":\"A-1\",\"title\":\"t\"}"},
		{name: "only required", raw: `{"sku":"A-1","title":"t"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row, reason, detail := r.Normalize([]byte(tt.raw))
			assert.Equal(t, tt.reason, reason, detail)
			assert.Contains(t, detail, tt.detail)
			if tt.reason == "" {
				assert.Equal(t, "A-1", row.Key)
				assert.Len(t, row.Values, len(r.fields))
			}
		})
	}
}

func TestNormalizeKeyAndHash(t *testing.T) {
	r := compileProducts(t, func(d *Definition) {
		d.Key = []string{"sku", "title"}
	})
	a, reason, _ := r.Normalize([]byte(`{"sku":"a","title":"bc"}`))
	require.Empty(t, reason)
	b, reason, _ := r.Normalize([]byte(`{"sku":"ab","title":"c"}`))
	require.Empty(t, reason)
	assert.NotEqual(t, a.Key, b.Key, "keys are joined unambiguously")
	assert.NotEqual(t, a.Hash, b.Hash)
	assert.Equal(t, `["a","bc"]`, a.Key)

	// nil differs from "", and a change in any field changes the hash.
	r = compileProducts(t, nil)
	hashOf := func(raw string) int64 {
		row, reason, detail := r.Normalize([]byte(raw))
		require.Empty(t, reason, detail)
		return row.Hash
	}
	base := hashOf(`{"sku":"A-1","title":"t"}`)
	assert.Equal(t, base, hashOf(`{"title":"t","sku":"A-1","extra":1}`), "member order and undeclared members do not count")
	assert.Equal(t, base, hashOf(`{"sku":"A-1","title":"t","tier":null}`))
	for _, other := range []string{
		`{"sku":"A-1","title":"t","attrs":""}`,
		`{"sku":"A-1","title":"t","email":"a@b.co"}`,
		`{"sku":"A-1","title":"t","stock":0}`,
		`{"sku":"A-1","title":"t","active":false}`,
		`{"sku":"A-1","title":"t","updated_at":"1970-01-01T00:00:00Z"}`,
		`{"sku":"A-1","title":"t2"}`,
		`{"sku":"A-1","title":""}`,
	} {
		assert.NotEqual(t, base, hashOf(other), other)
	}

	// Every key type has a text.
	r, err := Compile(Definition{Name: "k", Key: []string{"i", "b", "t", "d", "n", "e"}, Fields: []Field{
		{Name: "i", Type: Integer, Required: true}, {Name: "b", Type: Boolean, Required: true},
		{Name: "t", Type: Timestamp, Required: true}, {Name: "d", Type: Date, Required: true},
		{Name: "n", Type: Decimal, Precision: 5, Scale: 2, Required: true}, {Name: "e", Type: Email, Required: true},
	}})
	require.NoError(t, err)
	row, reason, detail := r.Normalize([]byte(`{"i":-4,"b":"true","t":"2024-01-02 03:04:05.6+01:00","d":"2024-01-02","n":"1.50","e":"A@B.CO"}`))
	require.Empty(t, reason, detail)
	assert.Equal(t, `["-4","true","2024-01-02T02:04:05.6Z","2024-01-02","1.5","a@b.co"]`, row.Key)
}

func TestCompileRejectsInvalid(t *testing.T) {
	d := products()
	d.Key = nil
	d.Fields[2].Precision = 0
	_, err := Compile(d)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `dataset "products": `)
	assert.Contains(t, err.Error(), "fields.price.precision: ")
	assert.Contains(t, err.Error(), "; key: ")
}

func TestCompileOrders(t *testing.T) {
	d, _ := Lookup("orders")
	r, err := Compile(d)
	require.NoError(t, err)
	row, reason, detail := r.Normalize([]byte(`{"id":7,"customer_email":"A@B.CO","category":"Books","amount":"12.50","currency":"eur","timestamp":"2024-03-01T10:00:00Z"}`))
	require.Empty(t, reason, detail)
	assert.Equal(t, "7", row.Key)
	assert.Equal(t, "12.5", row.Values[3])
	_, reason, _ = r.Normalize([]byte(`{"id":7,"customer_email":"A@B.CO","category":"Books","amount":"-1","currency":"eur","timestamp":"2024-03-01T10:00:00Z"}`))
	assert.Equal(t, "amount.min", reason)
}

func TestDecShift(t *testing.T) {
	for _, tc := range []struct {
		in   string
		exp  int
		want string
	}{
		{"1", 0, "1"}, {"1", 3, "1000"}, {"1.5", 1, "15"}, {"1.5", -1, "0.15"}, {"0.005", 3, "5"},
		{"0.005", 2, "0.5"}, {"100", -2, "1"}, {"100", -3, "0.1"}, {"-12.34", 1, "-123.4"}, {"0", 50, "0"},
	} {
		d, problem := ParseDecimal(tc.in)
		require.Empty(t, problem)
		got, intOver, fracOver := shift(d, tc.exp, 20, 20)
		require.False(t, intOver || fracOver, tc)
		assert.Equal(t, tc.want, got.String(), tc)
	}
	d, _ := ParseDecimal("123")
	_, intOver, fracOver := shift(d, 2, 4, 4)
	assert.True(t, intOver)
	assert.False(t, fracOver)
	_, intOver, fracOver = shift(d, -8, 4, 4)
	assert.False(t, intOver)
	assert.True(t, fracOver)
}
