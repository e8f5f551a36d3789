package dataset

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/blueprint-etl/blueprint/internal/suggest"
)

// Problem is one broken rule of a definition. Path is relative to the
// dataset ("name", "key[0]", "fields.price.precision"), so the manifest
// parser prefixes it with where the dataset is ("datasets.products.").
type Problem struct {
	Path, Msg string
}

func (p Problem) String() string { return p.Path + ": " + p.Msg }

// NameRule says in words what CheckName accepts, for messages.
const NameRule = "lower-case letters, digits and '_', at most 63 characters, starting with a letter"

// sqlName is a name every SQL database takes unquoted as a table or a
// column (PostgreSQL's identifiers are at most 63 bytes). Starting with a
// letter keeps a field clear of the bookkeeping columns, which start with
// '_'.
var sqlName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// CheckName checks the syntax of a dataset's or a field's name (NameRule).
// Whether a dataset's name is free (not a table blueprint keeps) is the
// store's business, not checked here.
func CheckName(name string) error {
	if !sqlName.MatchString(name) {
		return fmt.Errorf("%q is not a valid name: use %s", name, NameRule)
	}
	return nil
}

// MaxDecimalPrecision is the most digits a decimal field may have: what
// every supported database stores exactly (PostgreSQL allows more).
const MaxDecimalPrecision = 38

// typeNames lists Types as strings, for messages.
func typeNames() []string {
	names := make([]string, len(Types))
	for i, t := range Types {
		names[i] = string(t)
	}
	return names
}

// takes lists the types each optional rule applies to.
var takes = map[string][]Type{
	RuleMaxLength: {String, Email},
	RuleOneOf:     {String},
	RulePattern:   {String},
	RulePrecision: {Decimal},
	RuleScale:     {Decimal},
	RuleMin:       {Integer, Decimal},
	RuleMax:       {Integer, Decimal},
}

// Validate lists every broken rule of d; none means Compile accepts it.
// It checks the definition alone: a dataset's name taken by a table of
// blueprint's is for the store to refuse.
func (d Definition) Validate() []Problem {
	var ps []Problem
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if err := CheckName(d.Name); err != nil {
		add("name", "%v", err)
	}
	if len(d.Fields) == 0 {
		add("fields", "a dataset needs at least one field")
	}
	byName := make(map[string]Field, len(d.Fields))
	for _, f := range d.Fields {
		path := "fields." + f.Name
		if err := CheckName(f.Name); err != nil {
			add(path, "%v", err)
		}
		if _, dup := byName[f.Name]; dup {
			add(path, "field %q is declared more than once", f.Name)
		}
		byName[f.Name] = f
		for _, p := range f.validate() {
			ps = append(ps, Problem{Path: path + p.Path, Msg: p.Msg})
		}
		if f.Column != "" {
			if !d.Builtin {
				add(path+".column", "only a built-in dataset maps a field to another column")
			} else if err := CheckName(f.Column); err != nil {
				add(path+".column", "%v", err)
			}
		}
	}
	if len(d.Key) == 0 {
		add("key", "a dataset needs a key: the field or fields a load upserts by")
	}
	for i, k := range d.Key {
		path := fmt.Sprintf("key[%d]", i)
		f, ok := byName[k]
		switch {
		case slices.Index(d.Key, k) < i:
			add(path, "field %q is in the key more than once", k)
		case !ok:
			add(path, "no field %q%s", k, suggest.DidYouMean(k, d.FieldNames()))
		case !f.Required:
			add(path, "key field %q must be required: true (a key cannot be missing)", k)
		case f.Type == JSON:
			add(path, "key field %q is of type json, which cannot be compared as a key", k)
		}
	}
	return ps
}

// FieldNames lists d's field names in order: the fields a source is read
// for.
func (d Definition) FieldNames() []string {
	names := make([]string, len(d.Fields))
	for i, f := range d.Fields {
		names[i] = f.Name
	}
	return names
}

// validate checks a field's type and rules; each Path starts with "." or
// is "" (the field itself).
func (f Field) validate() []Problem {
	var ps []Problem
	add := func(rule, format string, args ...any) {
		path := ""
		if rule != "" {
			path = "." + rule
		}
		ps = append(ps, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if !slices.Contains(Types, f.Type) {
		if f.Type == "" {
			add("type", "a field needs a type: one of %s", strings.Join(typeNames(), ", "))
		} else {
			add("type", "unknown type %q: use one of %s%s", f.Type, strings.Join(typeNames(), ", "),
				suggest.DidYouMean(string(f.Type), typeNames()))
		}
		return ps // the other rules depend on the type
	}
	set := map[string]bool{
		RuleMaxLength: f.MaxLength != 0,
		RuleOneOf:     f.OneOf != nil,
		RulePattern:   f.Pattern != "",
		RulePrecision: f.Precision != 0,
		RuleScale:     f.Scale != 0,
		RuleMin:       f.Min != "",
		RuleMax:       f.Max != "",
	}
	for _, rule := range []string{RuleMaxLength, RuleOneOf, RulePattern, RulePrecision, RuleScale, RuleMin, RuleMax} {
		if set[rule] && !slices.Contains(takes[rule], f.Type) {
			add(rule, "%s does not apply to %s field (only to %s)", rule, article(f.Type), typeList(takes[rule]))
			set[rule] = false
		}
	}
	if set[RuleMaxLength] && f.MaxLength < 0 {
		add(RuleMaxLength, "max_length must be positive, not %d", f.MaxLength)
	}
	if f.Type == Decimal {
		if f.Precision < 1 || f.Precision > MaxDecimalPrecision {
			add(RulePrecision, "a decimal field needs a precision from 1 to %d (its number of digits), not %d", MaxDecimalPrecision, f.Precision)
		} else if f.Scale < 0 || f.Scale > f.Precision {
			add(RuleScale, "scale (digits after the point) must be from 0 to the precision %d, not %d", f.Precision, f.Scale)
		}
	}
	var re *regexp.Regexp
	if set[RulePattern] {
		var err error
		if re, err = regexp.Compile(f.Pattern); err != nil {
			add(RulePattern, "pattern is not a valid RE2 expression: %v", err)
			re = nil
		}
	}
	if set[RuleOneOf] {
		if len(f.OneOf) == 0 {
			add(RuleOneOf, "one_of lists no values")
		}
		for i, v := range f.OneOf {
			path := fmt.Sprintf("%s[%d]", RuleOneOf, i)
			switch {
			case slices.Index(f.OneOf, v) < i:
				add(path, "%q is listed more than once", v)
			case !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0:
				add(path, "%q is not valid text (invalid UTF-8 or a NUL byte)", v)
			case f.MaxLength > 0 && utf8.RuneCountInString(v) > f.MaxLength:
				add(path, "%q is longer than max_length %d", v, f.MaxLength)
			case re != nil && !re.MatchString(v):
				add(path, "%q does not match the pattern %q", v, f.Pattern)
			}
		}
	}
	sized := f.Type != Decimal || (f.Precision >= 1 && f.Precision <= MaxDecimalPrecision && f.Scale >= 0 && f.Scale <= f.Precision)
	var lo, hi *Dec
	for _, b := range []struct {
		rule, text string
		dst        **Dec
	}{{RuleMin, f.Min, &lo}, {RuleMax, f.Max, &hi}} {
		if !set[b.rule] {
			continue
		}
		v, problem := ParseDecimal(strings.TrimSpace(b.text))
		if problem != "" {
			add(b.rule, "%s %q %s", b.rule, b.text, problem)
			continue
		}
		if msg := f.outOfRange(v); sized && msg != "" {
			add(b.rule, "%s %q %s", b.rule, b.text, msg)
			continue
		}
		*b.dst = &v
	}
	if lo != nil && hi != nil && lo.Cmp(*hi) > 0 {
		add(RuleMin, "min %s is greater than max %s", f.Min, f.Max)
	}
	return ps
}

// outOfRange says why v is no value of f's type, or "".
func (f Field) outOfRange(v Dec) string {
	switch f.Type {
	case Integer:
		if v.Frac != "" {
			return "is not an integer"
		}
		if _, err := strconv.ParseInt(v.String(), 10, 64); err != nil {
			return "is outside the 64-bit integers"
		}
	case Decimal:
		if len(v.Frac) > f.Scale {
			return fmt.Sprintf("has more than scale %d decimal places", f.Scale)
		}
		if len(v.Int) > f.Precision-f.Scale {
			return fmt.Sprintf("has more than %d integer digits (precision %d, scale %d)", f.Precision-f.Scale, f.Precision, f.Scale)
		}
	}
	return ""
}

// typeList writes types as "string and email".
func typeList(ts []Type) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = string(t)
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// article writes a type with its article: "a string", "an integer".
func article(t Type) string {
	if strings.ContainsRune("aeiou", rune(t[0])) {
		return "an " + string(t)
	}
	return "a " + string(t)
}
