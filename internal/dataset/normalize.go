package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blueprint-etl/blueprint/internal/jsonobj"
	"github.com/blueprint-etl/blueprint/internal/text"
)

// Years a timestamp or a date may have (after conversion to UTC): what
// every supported database stores. Orders keep their tighter bounds
// (record.MinYear, record.MaxYear) in internal/transform.
const (
	MinYear = 1
	MaxYear = 9999
)

// maxDetailValue bounds how much of a bad value a rejection detail quotes.
const maxDetailValue = 64

// Rules are a definition's rules compiled for Normalize: patterns compiled,
// bounds parsed, one_of sets built, once per run rather than per record.
// A *Rules is safe for concurrent use.
type Rules struct {
	def    Definition
	fields []fieldRules
	index  map[string]int // field name -> position in fields
	names  []string       // the fields' names, when few enough to scan (lookup)
	key    []int          // positions of the key fields
}

// maxScan is how many fields lookup scans rather than hashing the name:
// up to about this many, comparing lengths and then bytes beats a map.
const maxScan = 16

// lookup returns the position of the declared field called name, or -1.
// It scans from position from on, then wraps: records mostly list their
// members in declaration order, so passing the position after the last
// one found makes most lookups one comparison.
func (r *Rules) lookup(name []byte, from int) int {
	if r.names == nil {
		if i, ok := r.index[string(name)]; ok {
			return i
		}
		return -1
	}
	for i := from; i < len(r.names); i++ {
		if n := r.names[i]; len(n) == len(name) && n == string(name) {
			return i
		}
	}
	for i := 0; i < from && i < len(r.names); i++ {
		if n := r.names[i]; len(n) == len(name) && n == string(name) {
			return i
		}
	}
	return -1
}

// fieldRules is one field's compiled rules.
type fieldRules struct {
	Field
	oneOf                  map[string]struct{}
	pattern                *regexp.Regexp
	hasMin, hasMax         bool
	minInt, maxInt         int64
	minDec, maxDec         Dec
	maxIntDigits, maxScale int
}

// Compile checks d (Validate) and compiles its rules; its error lists
// every problem.
func Compile(d Definition) (*Rules, error) {
	if ps := d.Validate(); len(ps) > 0 {
		msgs := make([]string, len(ps))
		for i, p := range ps {
			msgs[i] = p.String()
		}
		return nil, fmt.Errorf("dataset %q: %w", d.Name, errors.New(strings.Join(msgs, "; ")))
	}
	r := &Rules{def: d.clone(), index: make(map[string]int, len(d.Fields))}
	for i, f := range d.Fields {
		fr := fieldRules{Field: f, maxIntDigits: f.Precision - f.Scale, maxScale: f.Scale}
		if f.OneOf != nil {
			fr.oneOf = make(map[string]struct{}, len(f.OneOf))
			for _, v := range f.OneOf {
				fr.oneOf[v] = struct{}{}
			}
		}
		if f.Pattern != "" {
			fr.pattern = regexp.MustCompile(f.Pattern) // Validate compiled it
		}
		if f.Min != "" {
			fr.hasMin = true
			fr.minDec, _ = ParseDecimal(strings.TrimSpace(f.Min))
			fr.minInt, _ = strconv.ParseInt(fr.minDec.String(), 10, 64)
		}
		if f.Max != "" {
			fr.hasMax = true
			fr.maxDec, _ = ParseDecimal(strings.TrimSpace(f.Max))
			fr.maxInt, _ = strconv.ParseInt(fr.maxDec.String(), 10, 64)
		}
		r.fields = append(r.fields, fr)
		r.index[f.Name] = i
	}
	for _, k := range d.Key {
		r.key = append(r.key, r.index[k])
	}
	if len(r.fields) <= maxScan {
		r.names = make([]string, len(r.fields))
		for i := range r.fields {
			r.names[i] = r.fields[i].Name
		}
	}
	return r, nil
}

// Definition returns the definition r was compiled from.
func (r *Rules) Definition() Definition { return r.def.clone() }

// Normalize turns one raw record (a JSON object, one NDJSON line) into a
// Row in normal form (see Value), or says why it is rejected: reason is
// ReasonMalformed (not a JSON object, invalid JSON, or a declared field's
// member repeated, which is ambiguous) or FieldReason(field, rule) for the
// first field, in declaration order, whose value breaks a rule; detail
// names the field and quotes the bad value (truncated). Member names match
// exactly; members the dataset does not declare are ignored. On a
// rejection row is empty.
//
// What each type accepts:
//   - string: a JSON string, kept as is (not trimmed); or a JSON number,
//     kept as its literal text ("id": 42 is "42"), since APIs often send
//     ids as numbers. Invalid UTF-8, lone surrogates and NUL bytes are a
//     type rejection: no database stores them as text.
//   - integer: a JSON integer, or a string of digits with an optional
//     sign (spaces around trimmed), within int64; 1.5, 1e3 and true are
//     not integers; a value beyond int64 is a type rejection "out of range".
//   - decimal: a JSON number or a numeric string, read exactly (never
//     through float64); an exponent (1.5e3, 1E-2) is expanded exactly. More
//     fraction digits than the scale is rule "scale" (never rounded), more
//     integer digits than precision-scale is rule "precision".
//   - boolean: true/false, or the strings "true"/"false".
//   - timestamp: a string, RFC 3339 with any offset, 'T' or a space before
//     the time, fraction optional; without an offset, or a date alone
//     (midnight), it is UTC. Years MinYear..MaxYear after conversion to UTC.
//   - date: a string YYYY-MM-DD, a real calendar date.
//   - email: a string, trimmed and lower-cased, that CheckEmail accepts.
//   - json: any JSON value but null, stored compact; invalid UTF-8, \u0000
//     and lone surrogates are a type rejection (PostgreSQL's jsonb refuses
//     them).
//
// Then max_length (in characters), one_of, pattern, min and max apply, in
// that order. Duplicate keys are not Normalize's business: they need the
// run's state.
func (r *Rules) Normalize(raw []byte) (row Row, reason, detail string) {
	var stack [16][]byte
	var slots [][]byte
	if len(r.fields) <= len(stack) {
		slots = stack[:len(r.fields)]
	} else {
		slots = make([][]byte, len(r.fields))
	}
	next := 0 // where lookup starts
	if problem := jsonobj.Members(raw, func(name, value []byte) string {
		i := r.lookup(name, next)
		if i < 0 {
			return ""
		}
		next = i + 1
		if slots[i] != nil {
			return fmt.Sprintf("member %q appears more than once", name)
		}
		slots[i] = value
		return ""
	}); problem != "" {
		return Row{}, ReasonMalformed, problem
	}
	values := make([]Value, len(r.fields))
	for i := range r.fields {
		f := &r.fields[i]
		v := slots[i]
		if jsonobj.IsNull(v) {
			if f.Required {
				what := "missing"
				if v != nil {
					what = "null"
				}
				return Row{}, FieldReason(f.Name, RuleRequired), f.Name + " is " + what
			}
			continue
		}
		value, rule, detail := f.normalize(v)
		if rule != "" {
			return Row{}, FieldReason(f.Name, rule), detail
		}
		values[i] = value
	}
	return Row{Key: r.keyOf(values), Values: values, Hash: hashValues(values)}, "", ""
}

// normalize converts one present, non-null value to f's normal form, or
// names the rule it breaks and says how.
func (f *fieldRules) normalize(v []byte) (value Value, rule, detail string) {
	switch f.Type {
	case String:
		var s string
		switch {
		case v[0] == '"':
			var ok bool
			if s, ok = jsonobj.Text(v); !ok {
				return nil, RuleType, f.Name + " is not valid UTF-8 text: " + show(v)
			}
			if strings.IndexByte(s, 0) >= 0 {
				return nil, RuleType, f.Name + " contains a NUL byte: " + show(v)
			}
		case isNumber(v):
			s = string(v)
		default:
			return nil, RuleType, f.Name + " must be a string, got " + show(v)
		}
		return f.checkText(s)
	case Email:
		if v[0] != '"' {
			return nil, RuleType, f.Name + " must be a string, got " + show(v)
		}
		s, ok := jsonobj.Text(v)
		if !ok {
			return nil, RuleType, f.Name + " is not valid UTF-8 text: " + show(v)
		}
		s = strings.ToLower(strings.TrimSpace(s))
		if problem := CheckEmail(s); problem != "" {
			return nil, RuleType, f.Name + " " + showString(s) + " " + problem
		}
		return f.checkText(s)
	case Integer:
		s, ok := numberText(v)
		if !ok {
			return nil, RuleType, f.Name + " must be an integer, got " + show(v)
		}
		n, err := strconv.ParseInt(s, 10, 64)
		switch {
		case errors.Is(err, strconv.ErrRange):
			return nil, RuleType, f.Name + " " + showString(s) + " is out of range"
		case err != nil:
			return nil, RuleType, f.Name + " must be an integer, got " + show(v)
		case f.hasMin && n < f.minInt:
			return nil, RuleMin, fmt.Sprintf("%s %d is below the min %d", f.Name, n, f.minInt)
		case f.hasMax && n > f.maxInt:
			return nil, RuleMax, fmt.Sprintf("%s %d is above the max %d", f.Name, n, f.maxInt)
		}
		return n, "", ""
	case Decimal:
		s, ok := numberText(v)
		if !ok {
			return nil, RuleType, f.Name + " must be a decimal number, got " + show(v)
		}
		d, rule, problem := f.parseDecimal(s)
		if rule != "" {
			return nil, rule, f.Name + " " + showString(s) + " " + problem
		}
		switch {
		case f.hasMin && d.Cmp(f.minDec) < 0:
			return nil, RuleMin, f.Name + " " + d.String() + " is below the min " + f.minDec.String()
		case f.hasMax && d.Cmp(f.maxDec) > 0:
			return nil, RuleMax, f.Name + " " + d.String() + " is above the max " + f.maxDec.String()
		}
		return canonicalIn(s, d), "", ""
	case Boolean:
		switch string(v) {
		case "true", `"true"`:
			return true, "", ""
		case "false", `"false"`:
			return false, "", ""
		}
		return nil, RuleType, f.Name + " must be true or false, got " + show(v)
	case Timestamp:
		s, ok := stringText(v)
		if !ok {
			return nil, RuleType, f.Name + " must be an RFC 3339 timestamp string, got " + show(v)
		}
		t, err := parseTimestampField(s)
		if err != nil {
			return nil, RuleType, f.Name + " " + showString(s) + " is not an RFC 3339 timestamp"
		}
		if t = t.UTC(); t.Year() < MinYear || t.Year() > MaxYear {
			return nil, RuleType, fmt.Sprintf("%s %s is outside the years %d to %d", f.Name, showString(s), MinYear, MaxYear)
		}
		return t, "", ""
	case Date:
		s, ok := stringText(v)
		if !ok {
			return nil, RuleType, f.Name + " must be a date string YYYY-MM-DD, got " + show(v)
		}
		t, err := time.Parse(time.DateOnly, s)
		if err != nil || len(s) != len(time.DateOnly) || t.Year() < MinYear {
			return nil, RuleType, f.Name + " " + showString(s) + " is not a date YYYY-MM-DD"
		}
		return s, "", "" // ten bytes that parse are in normal form already
	case JSON:
		if problem := jsonobj.CheckText(v); problem != "" {
			return nil, RuleType, f.Name + " " + problem + ": " + show(v)
		}
		if !bytes.ContainsAny(v, " \t\r\n") {
			return string(v), "", ""
		}
		var b bytes.Buffer
		b.Grow(len(v))
		if err := json.Compact(&b, v); err != nil {
			return nil, RuleType, f.Name + " is not JSON: " + show(v) // unreachable: v was validated
		}
		return b.String(), "", ""
	}
	return nil, RuleType, f.Name + " has an unknown type " + string(f.Type) // unreachable: Compile validated
}

// checkText applies a string's or an email's rules after its type.
func (f *fieldRules) checkText(s string) (value Value, rule, detail string) {
	if f.MaxLength > 0 && len(s) > f.MaxLength && utf8.RuneCountInString(s) > f.MaxLength {
		return nil, RuleMaxLength, fmt.Sprintf("%s is longer than %d characters: %s", f.Name, f.MaxLength, showString(s))
	}
	if f.oneOf != nil {
		if _, ok := f.oneOf[s]; !ok {
			return nil, RuleOneOf, f.Name + " " + showString(s) + " is not one of " + strings.Join(f.OneOf, ", ")
		}
	}
	if f.pattern != nil && !f.pattern.MatchString(s) {
		return nil, RulePattern, f.Name + " " + showString(s) + " does not match " + f.Pattern
	}
	return s, "", ""
}

// parseDecimal reads s exactly, expanding an exponent, and checks it fits
// f's precision and scale. An exponent's digits are never materialised
// beyond what fits, so 1e999999999 costs nothing.
func (f *fieldRules) parseDecimal(s string) (d Dec, rule, problem string) {
	e := strings.IndexAny(s, "eE")
	if e < 0 {
		if d, problem = ParseDecimal(s); problem != "" {
			return Dec{}, RuleType, problem
		}
	} else {
		if d, problem = ParseDecimal(s[:e]); problem != "" {
			return Dec{}, RuleType, problem
		}
		exp, ok := exponent(s[e+1:])
		if !ok {
			return Dec{}, RuleType, "has an invalid exponent"
		}
		var intOver, fracOver bool
		d, intOver, fracOver = shift(d, exp, f.maxIntDigits, f.maxScale)
		switch {
		case fracOver:
			return Dec{}, RuleScale, fmt.Sprintf("has more than %d decimal places (scale %d)", f.maxScale, f.Scale)
		case intOver:
			return Dec{}, RulePrecision, fmt.Sprintf("has more than %d integer digits (precision %d, scale %d)", f.maxIntDigits, f.Precision, f.Scale)
		}
	}
	switch {
	case len(d.Frac) > f.maxScale:
		return Dec{}, RuleScale, fmt.Sprintf("has more than %d decimal places (scale %d)", f.maxScale, f.Scale)
	case len(d.Int) > f.maxIntDigits:
		return Dec{}, RulePrecision, fmt.Sprintf("has more than %d integer digits (precision %d, scale %d)", f.maxIntDigits, f.Precision, f.Scale)
	}
	return d, "", ""
}

// canonicalIn returns d.String(), the canonical form of the decimal read
// from s, without building it when s starts with it (as "12.5" and
// "12.50" do): most values are sent in canonical form, and a row's
// values are allocations enough.
func canonicalIn(s string, d Dec) string {
	rest := s
	if d.Negative {
		if rest == "" || rest[0] != '-' {
			return d.String()
		}
		rest = rest[1:]
	}
	intPart := d.Int
	if intPart == "" {
		intPart = "0"
	}
	if !strings.HasPrefix(rest, intPart) {
		return d.String()
	}
	rest = rest[len(intPart):]
	if d.Frac != "" {
		if len(rest) <= len(d.Frac) || rest[0] != '.' || rest[1:1+len(d.Frac)] != d.Frac {
			return d.String()
		}
		rest = rest[1+len(d.Frac):]
	}
	return s[:len(s)-len(rest)]
}

// exponent reads an exponent's [+-]digits, capped far beyond any decimal's
// limit so that it cannot overflow.
func exponent(s string) (exp int, ok bool) {
	negative := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		negative = s[0] == '-'
		s = s[1:]
	}
	if s == "" || digitsEnd(s) != len(s) {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		exp = min(exp*10+int(s[i]-'0'), 1<<20)
	}
	if negative {
		exp = -exp
	}
	return exp, true
}

// shift multiplies d by 10^exp; intOver and fracOver say the result would
// have more than maxInt integer or maxFrac fraction digits (the caller's
// limits, so that no huge string is built), and then it is not built.
func shift(d Dec, exp, maxInt, maxFrac int) (out Dec, intOver, fracOver bool) {
	digits := strings.TrimLeft(d.Int+d.Frac, "0")
	if digits == "" {
		return Dec{}, false, false // zero, whatever the exponent
	}
	// point: how many of digits stand before the decimal point.
	point := len(digits) - len(d.Frac)
	digits = strings.TrimRight(digits, "0")
	point += exp
	intOver, fracOver = point > maxInt, len(digits)-point > maxFrac
	if intOver || fracOver {
		return Dec{}, intOver, fracOver
	}
	out.Negative = d.Negative
	switch {
	case point <= 0:
		out.Frac = strings.Repeat("0", -point) + digits
	case point >= len(digits):
		out.Int = digits + strings.Repeat("0", point-len(digits))
	default:
		out.Int, out.Frac = digits[:point], digits[point:]
	}
	return out, false, false
}

// Timestamp layouts a dataset's timestamp reads besides ParseTimestamp's.
const (
	layoutSpaceZone = "2006-01-02 15:04:05Z07:00"
)

// parseTimestampField reads ParseTimestamp's forms, RFC 3339 with a space
// before the time, and a date alone (midnight UTC).
func parseTimestampField(s string) (time.Time, error) {
	t, err := ParseTimestamp(s)
	if err == nil {
		return t, nil
	}
	if t, err2 := time.Parse(layoutSpaceZone, s); err2 == nil {
		return t, nil
	}
	if len(s) == len(time.DateOnly) {
		if t, err2 := time.Parse(time.DateOnly, s); err2 == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// isNumber classifies a valid JSON value by its first byte.
func isNumber(v []byte) bool { return v[0] == '-' || (v[0] >= '0' && v[0] <= '9') }

// numberText returns a JSON number's text, or a JSON string's trimmed
// text (a number written as a string); ok is false for anything else.
func numberText(v []byte) (s string, ok bool) {
	if isNumber(v) {
		return string(v), true
	}
	return stringText(v)
}

// stringText returns a JSON string's text, trimmed of spaces; ok is false
// for any other value and for invalid text.
func stringText(v []byte) (s string, ok bool) {
	if v[0] != '"' {
		return "", false
	}
	if s, ok = jsonobj.Text(v); !ok {
		return "", false
	}
	return strings.TrimSpace(s), true
}

// keyOf is the key values' text: a single value's own text, or several
// as a JSON array of their texts. The key is stored (the run's duplicate
// check, a rejected record's id) in text columns, and PostgreSQL's text
// refuses NUL bytes, so no control character may separate the values.
func (r *Rules) keyOf(values []Value) string {
	if len(r.key) == 1 {
		return keyText(values[r.key[0]])
	}
	parts := make([]string, len(r.key))
	for i, k := range r.key {
		parts[i] = keyText(values[k])
	}
	b, _ := json.Marshal(parts) // strings always encode
	return string(b)
}

// keyText writes a key value in normal form as text.
func keyText(v Value) string {
	switch v := v.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case bool:
		return strconv.FormatBool(v)
	case time.Time:
		return v.Format(time.RFC3339Nano)
	}
	return "" // unreachable: key fields are required
}

// FNV-64a, inline: hash/fnv's interface would cost an allocation per row.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// hashValues is FNV-64a over a tag and the normal form of every value, so
// that nil and "" differ and no two rows of a dataset collide by framing.
// The hash is stored, so its bytes never change; h stays a local (no
// closure captures it) so that it lives in a register.
func hashValues(values []Value) int64 {
	h := uint64(fnvOffset)
	for _, v := range values {
		switch v := v.(type) {
		case nil:
			h = fnvByte(h, 0)
		case string:
			h = fnvUint64(fnvByte(h, 1), uint64(len(v)))
			for i := 0; i < len(v); i++ {
				h = (h ^ uint64(v[i])) * fnvPrime
			}
		case int64:
			h = fnvUint64(fnvByte(h, 2), uint64(v))
		case bool:
			h = fnvByte(h, 3)
			if v {
				h = fnvByte(h, 1)
			} else {
				h = fnvByte(h, 0)
			}
		case time.Time:
			h = fnvUint64(fnvByte(h, 4), uint64(v.Unix()))
			h = fnvUint64(h, uint64(v.Nanosecond()))
		}
	}
	return int64(h)
}

// fnvByte adds c to the FNV-64a hash h.
func fnvByte(h uint64, c byte) uint64 { return (h ^ uint64(c)) * fnvPrime }

// fnvUint64 adds x's eight bytes, most significant first, to h.
func fnvUint64(h, x uint64) uint64 {
	for i := 56; i >= 0; i -= 8 {
		h = (h ^ uint64(byte(x>>i))) * fnvPrime
	}
	return h
}

// show quotes a raw JSON value for a detail, truncated, as valid UTF-8
// (a detail is stored and shown as text).
func show(v []byte) string {
	s := string(text.Cut(v, maxDetailValue))
	if len(s) < len(v) {
		s += "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// showString quotes a decoded string for a detail, truncated.
func showString(s string) string {
	if len(s) > maxDetailValue {
		return strconv.Quote(text.Cut(s, maxDetailValue) + "…")
	}
	return strconv.Quote(s)
}
