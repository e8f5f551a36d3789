package flow

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"
)

// JSONSchemaDialect is the JSON Schema version JSONSchema writes.
const JSONSchemaDialect = "https://json-schema.org/draft/2020-12/schema"

// RulesKeyword is the JSON Schema's one vendor keyword: an object that
// maps every rule of the decoder that JSON Schema cannot say, or not
// fully, to its meaning in one line ({"timezone": "an IANA time zone
// name ..."}). It is on the value the rule is about: a parameter, a list's
// items, or the whole document. A validator ignores it (draft 2020-12 keeps
// an unknown keyword as an annotation), so a document the schema accepts
// may still be refused for a rule listed there; one it refuses, the flow
// refuses too.
const RulesKeyword = "x-blueprint-rules"

// The rules of the whole document, listed under RulesKeyword at the top.
const (
	// JSONTextRule is about how the document is written, which a JSON
	// Schema cannot see: it judges the decoded values.
	JSONTextRule = "json_text"
	// CheckParamsRule is a flow's CheckParams: rules between parameters,
	// in its code.
	CheckParamsRule = "check_params"
)

// paramsChecker is a parameter struct with a rule no tag can say, such as
// one between two fields: the decoder calls CheckParams after the tags'
// rules.
type paramsChecker interface{ CheckParams() []string }

var paramsCheckerType = reflect.TypeFor[paramsChecker]()

// What JSON Schema cannot say, in one line each.
var (
	jsonTextMeans = "a name appears once in an object; an integer is written without a fraction or exponent (10, not 10.0 or 1e1); " +
		"a number is rounded to a 64-bit float before its bounds are checked"
	checkParamsMeans = "the flow checks its parameters together in its code (CheckParams), after every other rule"
	durationMeans    = fmt.Sprintf("a Go duration (time.ParseDuration) such as 90s, 1m30s or 1h, with units ns, us, µs, ms, s, m and h, "+
		"at most %s either way; an integer is a count of nanoseconds", time.Duration(math.MaxInt64))
	timezoneMeans  = "an IANA time zone name that the worker's time zone database has, such as America/Chicago or UTC (not Local)"
	sourceURLMeans = "a source URL blueprint reads: http(s)://HOST/... without credentials in it, file:///abs/path or file:rel/path, " +
		"demo://orders (options in its query), or source:NAME of the manifest's sources:"
	datasetMeans = "the name of a dataset: orders (built in) or one of the manifest's datasets:, whose definition the blueprint CLI puts in the input; empty for the flow's default"
	httpURLMeans = "an absolute http:// or https:// URL with a host"
)

// Regular expressions (ECMA 262 and Go alike) of the text forms.
const (
	// durationPattern is time.ParseDuration's syntax, which duration
	// parameters use (JSON Schema's "duration" format is ISO 8601's
	// P1D); the range is a RulesKeyword rule.
	durationPattern = `^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	// datePattern is DateLayout's shape; format "date" says the rest.
	datePattern = `^[0-9]{4}-[0-9]{2}-[0-9]{2}$`
	// httpURLPattern is what every http_url starts with: the scheme, in
	// any case, and a host.
	httpURLPattern = `^[hH][tT][tT][pP][sS]?://[^/?#]`
)

// JSONSchema describes a flow's parameters as a JSON Schema (draft
// 2020-12), for editors, forms and other tools. Every rule the decoder
// applies is in it: as JSON Schema, or listed under RulesKeyword where
// JSON Schema cannot say it. A parameter with a default, or whose zero
// value passes its rules, is optional, and null for it means "left out".
// Formats (date, date-time) are part of the rules: validate with format
// assertion on.
func (f *Flow) JSONSchema() map[string]any {
	s, _ := f.Params.jsonSchema()
	s["$schema"] = JSONSchemaDialect
	s["title"] = f.Name
	if f.Description != "" {
		s["description"] = f.Description
	}
	return s
}

// UnmappedRules lists the rules of the parameters that the JSON Schema
// has no mapping for, as "path: rule": a validator tag missing from the
// table of rules, or one on a kind it does not apply to. JSONSchema lists
// them under RulesKeyword, so none is silently dropped, but a test holds
// every registered flow to none.
func (s *Schema) UnmappedRules() []string {
	_, unmapped := s.jsonSchema()
	return unmapped
}

// JSONSchemaRules lists the validator tags JSONSchema maps (named rules
// such as batch_size are expanded before), sorted: for a test to hold a
// flow that uses each of them.
func JSONSchemaRules() []string {
	names := []string{"dive"}
	for name := range ruleSchemas {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func (s *Schema) jsonSchema() (map[string]any, []string) {
	b := &schemaBuilder{zeroFails: s.zeroFails()}
	root := b.object(s.Params)
	rules := map[string]string{JSONTextRule: jsonTextMeans}
	if s.typ.Implements(paramsCheckerType) {
		rules[CheckParamsRule] = checkParamsMeans
	}
	root[RulesKeyword] = rules
	return root, b.unmapped
}

// schemaBuilder writes the schema of a parameter list and notes the rules
// it could not map.
type schemaBuilder struct {
	zeroFails map[string]bool
	unmapped  []string
}

func (b *schemaBuilder) object(params []*Param) map[string]any {
	props := map[string]any{}
	required := []string{}
	for _, p := range params {
		s := b.param(p)
		if b.mustBeGiven(p) {
			required = append(required, p.Name)
		} else {
			allowNull(s)
		}
		props[p.Name] = s
	}
	// An unknown name is refused, unless its value is null: null is
	// "left out" for any name.
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": map[string]any{"type": "null"}}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func (b *schemaBuilder) param(p *Param) map[string]any {
	var s map[string]any
	switch {
	case p.text:
		// Its type's own schema says what its text may be.
		s = cloneSchema(reflect.Zero(p.typ).Interface().(TextValue).ParamJSONSchema())
		b.unmappedTags(p.Path, p.tag())
	case p.Kind == Object:
		s = b.object(p.Fields)
		b.unmappedTags(p.Path, p.Rule)
	default:
		own, items := splitDive(p.Rule)
		t := newTarget(p.Kind, p.typ)
		if p.Kind == Enum {
			t.s["enum"] = slices.Clone(p.Enum)
		}
		if p.Kind == Number && p.typ.Kind() == reflect.Float32 {
			b.unmapped = append(b.unmapped, p.Path+": float32 (the decoder rounds to 32 bits)")
		}
		b.apply(p.Path, t, own)
		if p.Kind == StringList {
			it := newTarget(String, p.typ.Elem())
			b.apply(p.Path+"[]", it, items)
			t.s["items"] = it.finish()
		} else if items != nil {
			b.unmappedTags(p.Path, "dive")
		}
		s = t.finish()
	}
	if p.Help != "" {
		s["description"] = p.Help
	}
	if p.Default != nil {
		s["default"] = p.Default
	}
	return s
}

// apply writes the rules (validator tags) on t, noting the ones with no
// mapping and listing them under RulesKeyword all the same.
func (b *schemaBuilder) apply(path string, t *target, tags []string) {
	for _, tag := range tags {
		name, arg, _ := strings.Cut(tag, "=")
		rule, ok := ruleSchemas[name]
		var err error
		if !ok {
			err = errors.New("no mapping")
		} else {
			err = rule(t, name, arg)
		}
		if err != nil {
			b.unmapped = append(b.unmapped, fmt.Sprintf("%s: %s (%s: %v)", path, tag, t.kind, err))
			t.vendor(tag, "validator rule "+tag)
		}
	}
}

func (b *schemaBuilder) unmappedTags(path, rule string) {
	for _, tag := range tags(rule) {
		b.unmapped = append(b.unmapped, fmt.Sprintf("%s: %s (on this kind the JSON Schema cannot say it)", path, tag))
	}
}

// tags splits a validate tag into its rules.
func tags(rule string) []string {
	if rule == "" {
		return nil
	}
	return strings.Split(rule, ",")
}

// splitDive separates a list's own rules from its items' (after "dive");
// items is nil without dive.
func splitDive(rule string) (own, items []string) {
	all := tags(rule)
	if i := slices.Index(all, "dive"); i >= 0 {
		return all[:i], append([]string{}, all[i+1:]...)
	}
	return all, nil
}

// tag is the parameter's validate tag: its Rule, but not a TextValue's
// rule in words.
func (p *Param) tag() string {
	if p.text && p.Rule == reflect.Zero(p.typ).Interface().(TextValue).ParamRule() {
		return ""
	}
	return p.Rule
}

// mustBeGiven reports whether leaving the parameter out is refused: it
// has no default and its zero value breaks its rules; an object must be
// given when one of its fields must.
func (b *schemaBuilder) mustBeGiven(p *Param) bool {
	switch {
	case p.Default != nil:
		return false
	case p.Kind == Object:
		return slices.ContainsFunc(p.Fields, b.mustBeGiven)
	}
	return b.zeroFails[p.Path]
}

// zeroFails lists the parameters whose zero value breaks their rules, as
// the validator that checks the input finds on the zero parameter struct.
func (s *Schema) zeroFails() (fails map[string]bool) {
	fails = map[string]bool{}
	// A rule on a type it does not take panics in the validator (and in
	// the decoder): UnmappedRules reports it.
	defer func() { _ = recover() }()
	var ves validator.ValidationErrors
	if err := validate.Struct(reflect.New(s.typ).Interface()); errors.As(err, &ves) {
		for _, fe := range ves {
			fails[describeFieldError(fe).Path] = true
		}
	}
	return fails
}

// allowNull lets a value be null: "left out", for an optional parameter.
func allowNull(s map[string]any) {
	switch t := s["type"].(type) {
	case string:
		s["type"] = []string{t, "null"}
	case []string:
		s["type"] = append(slices.Clone(t), "null")
	case []any:
		s["type"] = append(slices.Clone(t), "null")
	}
	if c, ok := s["const"]; ok {
		delete(s, "const")
		s["enum"] = []any{c}
	}
	switch e := s["enum"].(type) {
	case []string:
		l := make([]any, 0, len(e)+1)
		for _, v := range e {
			l = append(l, v)
		}
		s["enum"] = append(l, nil)
	case []any:
		s["enum"] = append(slices.Clone(e), nil)
	}
}

// cloneSchema returns a copy of s deep enough to add keywords to it.
func cloneSchema(s map[string]any) map[string]any {
	out := make(map[string]any, len(s))
	for k, v := range s {
		out[k] = v
	}
	return out
}

// target is the JSON Schema of one value (a parameter, or a list's
// items) while its rules are written on it.
type target struct {
	kind  Kind
	typ   reflect.Type
	s     map[string]any
	rules map[string]string
	// lo and hi bound an integer, a duration's nanoseconds, a text's
	// length or a list's items, inclusive; nil for none.
	lo, hi *big.Int
	// flo and fhi bound a number.
	flo, fhi *floatBound
}

type floatBound struct {
	v      float64
	strict bool
}

// newTarget starts the schema of a kind: its type and text form.
func newTarget(k Kind, typ reflect.Type) *target {
	t := &target{kind: k, typ: typ, rules: map[string]string{}}
	switch k {
	case StringList:
		t.s = map[string]any{"type": "array"}
	case Enum:
		t.s = map[string]any{"type": "string"} // its enum is the Param's
	case Duration:
		// A duration is its text or, as encoding/json writes a
		// time.Duration, its nanoseconds.
		t.s = map[string]any{"type": []string{"string", "integer"}, "pattern": durationPattern}
		t.vendor("duration", durationMeans)
	case DateKind:
		t.s = map[string]any{"type": "string", "format": "date", "pattern": datePattern}
	case DateTime:
		t.s = map[string]any{"type": "string", "format": "date-time", "pattern": dateTimePattern}
	default:
		t.s = map[string]any{"type": string(k)}
	}
	return t
}

func (t *target) vendor(name, means string) { t.rules[name] = means }

// pattern adds a regular expression the text must match.
func (t *target) pattern(re string) {
	if _, ok := t.s["pattern"]; !ok {
		t.s["pattern"] = re
		return
	}
	all, _ := t.s["allOf"].([]any)
	t.s["allOf"] = append(all, map[string]any{"pattern": re})
}

func (t *target) atLeast(n *big.Int) {
	if t.lo == nil || n.Cmp(t.lo) > 0 {
		t.lo = n
	}
}

func (t *target) atMost(n *big.Int) {
	if t.hi == nil || n.Cmp(t.hi) < 0 {
		t.hi = n
	}
}

// finish writes the bounds and the rules JSON Schema cannot say.
func (t *target) finish() map[string]any {
	s := t.s
	switch t.kind {
	case Integer, Duration:
		// The Go type's range: the decoder refuses what does not fit.
		bits := 64
		if t.kind == Integer {
			bits = t.typ.Bits()
		}
		t.atLeast(new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), uint(bits-1))))
		t.atMost(new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(bits-1)), big.NewInt(1)))
		s["minimum"], s["maximum"] = bigNumber(t.lo), bigNumber(t.hi)
	case String, Enum:
		if t.lo != nil && t.lo.Sign() > 0 {
			s["minLength"] = bigNumber(t.lo)
		}
		if t.hi != nil {
			s["maxLength"] = bigNumber(nonNegative(t.hi))
		}
	case StringList:
		if t.lo != nil && t.lo.Sign() > 0 {
			s["minItems"] = bigNumber(t.lo)
		}
		if t.hi != nil {
			s["maxItems"] = bigNumber(nonNegative(t.hi))
		}
	case Number:
		// A number is rounded to a float64 (json_text): one that rounds
		// past ±math.MaxFloat64 is refused as out of range.
		if t.flo == nil {
			s["minimum"] = -math.MaxFloat64
		} else {
			s[map[bool]string{false: "minimum", true: "exclusiveMinimum"}[t.flo.strict]] = t.flo.v
		}
		if t.fhi == nil {
			s["maximum"] = math.MaxFloat64
		} else {
			s[map[bool]string{false: "maximum", true: "exclusiveMaximum"}[t.fhi.strict]] = t.fhi.v
		}
	}
	if len(t.rules) > 0 {
		s[RulesKeyword] = t.rules
	}
	return s
}

// nonNegative is n, or 0 for a bound below it: nothing has a negative
// length, so the rule allows only what has none.
func nonNegative(n *big.Int) *big.Int {
	if n.Sign() < 0 {
		return new(big.Int)
	}
	return n
}

// bigNumber writes an integer as int64 when it fits.
func bigNumber(n *big.Int) any {
	if n.IsInt64() {
		return n.Int64()
	}
	return json.Number(n.String())
}

var errNotForKind = errors.New("the rule does not apply to this kind")

// A ruleSchema says one validator rule (name=arg) in JSON Schema on t, the
// value it is about. An error means it cannot be said for t's kind.
type ruleSchema func(t *target, name, arg string) error

// ruleSchemas is the one table of the validator rules a parameter may
// have (validate tags, with namedRules expanded) and how the JSON Schema
// says each. A tag missing here is reported by UnmappedRules, and a test
// fails: a new rule cannot be silently dropped.
var ruleSchemas = map[string]ruleSchema{
	"required": requiredSchema,
	"min":      lowerBound(false),
	"gte":      lowerBound(false),
	"gt":       lowerBound(true),
	"max":      upperBound(false),
	"lte":      upperBound(false),
	"lt":       upperBound(true),
	"oneof": func(t *target, _, _ string) error {
		if t.kind != Enum {
			return errNotForKind
		}
		return nil // newTarget wrote the enum: Param.Enum reads this rule
	},
	"unique": func(t *target, _, _ string) error {
		if t.kind != StringList {
			return errNotForKind
		}
		t.s["uniqueItems"] = true
		return nil
	},
	"timezone":    vendorOnly(timezoneMeans),
	SourceURLRule: vendorOnly(sourceURLMeans),
	DatasetRule:   vendorOnly(datasetMeans),
	"http_url": func(t *target, name, _ string) error {
		if t.kind != String {
			return errNotForKind
		}
		t.pattern(httpURLPattern)
		t.vendor(name, httpURLMeans)
		return nil
	},
}

// vendorOnly is a rule on a text that JSON Schema cannot say.
func vendorOnly(means string) ruleSchema {
	return func(t *target, name, _ string) error {
		if t.kind != String {
			return errNotForKind
		}
		t.vendor(name, means)
		return nil
	}
}

// requiredSchema is the validator's required: the value is not its
// type's zero value. That it is given at all is the object's "required",
// which Param.mustBeGiven decides.
func requiredSchema(t *target, name, _ string) error {
	switch t.kind {
	case String, Enum:
		t.atLeast(big.NewInt(1))
	case Integer, Number:
		t.s["not"] = map[string]any{"const": 0}
	case Boolean:
		t.s["const"] = true
	case Duration:
		t.s["not"] = map[string]any{"const": 0}
		t.vendor(name, "a duration string is not zero (such as 0s)")
	case DateTime:
		t.vendor(name, "is not 0001-01-01T00:00:00Z, the zero time")
	case StringList, DateKind:
		// A given list is not nil, even empty; a given date is never
		// the zero Date.
	default:
		return errNotForKind
	}
	return nil
}

// lowerBound is min and gte (strict: gt): a number's value, a text's
// length or a list's items.
func lowerBound(strict bool) ruleSchema {
	return func(t *target, name, arg string) error {
		if t.kind == Number {
			f, err := strconv.ParseFloat(arg, 64)
			if err != nil {
				return err
			}
			if t.flo == nil || f > t.flo.v || (f == t.flo.v && strict) {
				t.flo = &floatBound{f, strict}
			}
			return nil
		}
		n, err := t.intArg(name, arg, strict, "at least", "more than")
		if err != nil {
			return err
		}
		if strict {
			n.Add(n, big.NewInt(1))
		}
		t.atLeast(n)
		return nil
	}
}

// upperBound is max and lte (strict: lt).
func upperBound(strict bool) ruleSchema {
	return func(t *target, name, arg string) error {
		if t.kind == Number {
			f, err := strconv.ParseFloat(arg, 64)
			if err != nil {
				return err
			}
			if t.fhi == nil || f < t.fhi.v || (f == t.fhi.v && strict) {
				t.fhi = &floatBound{f, strict}
			}
			return nil
		}
		n, err := t.intArg(name, arg, strict, "at most", "less than")
		if err != nil {
			return err
		}
		if strict {
			n.Sub(n, big.NewInt(1))
		}
		t.atMost(n)
		return nil
	}
}

// intArg reads a bound's argument as the validator does: an integer
// (base prefixes allowed) or, for a duration, a duration or nanoseconds. A
// duration's bound on its text form is listed under RulesKeyword.
func (t *target) intArg(name, arg string, strict bool, loose, strictly string) (*big.Int, error) {
	switch t.kind {
	case Integer, String, Enum, StringList:
		n, err := strconv.ParseInt(arg, 0, 64)
		if err != nil {
			return nil, err
		}
		return big.NewInt(n), nil
	case Duration:
		d, err := time.ParseDuration(arg)
		shown := arg
		if err != nil {
			n, err := strconv.ParseInt(arg, 0, 64)
			if err != nil {
				return nil, err
			}
			d, shown = time.Duration(n), time.Duration(n).String()
		}
		verb := loose
		if strict {
			verb = strictly
		}
		t.vendor(name+"="+arg, "a duration string is "+verb+" "+shown)
		return big.NewInt(int64(d)), nil
	}
	return nil, errNotForKind
}
