package flow

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blueprint-etl/blueprint/internal/dataset"

	"github.com/go-playground/validator/v10"
	commonpb "go.temporal.io/api/common/v1"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/jsonkind"
	"github.com/blueprint-etl/blueprint/internal/sourceurl"
	"github.com/blueprint-etl/blueprint/internal/suggest"
)

// ParseJSON reads a JSON object of parameters into canonical values. It
// reads the object token by token, so a key given twice is a problem
// rather than a silent "last one wins"; every bad value is reported.
func (s *Schema) ParseJSON(doc []byte) (map[string]any, []Problem) {
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 {
		return map[string]any{}, nil
	}
	whole := func(format string, args ...any) (map[string]any, []Problem) {
		return nil, []Problem{{Msg: fmt.Sprintf(format, args...)}}
	}
	if doc[0] != '{' {
		return whole("parameters must be a JSON object, got %s", JSONKind(doc))
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // the '{'
		return whole("parameters are not valid JSON: %s", jsonErr(err))
	}
	raw := map[string]any{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return whole("parameters are not valid JSON: %s", jsonErr(err))
		}
		name, _ := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return whole("parameters are not valid JSON after %q: %s", name, jsonErr(err))
		}
		if _, dup := raw[name]; dup {
			return whole("parameter %q is given twice", name)
		}
		raw[name] = v
	}
	if _, err := dec.Token(); err != nil { // the '}'
		return whole("parameters are not valid JSON: %s", jsonErr(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return whole("unexpected text after the JSON object of parameters")
	}
	return s.Normalize(raw)
}

// Normalize converts decoded values (JSON, YAML or Go) to canonical ones,
// reporting every value of the wrong type and every unknown name.
func (s *Schema) Normalize(values map[string]any) (map[string]any, []Problem) {
	params := make(map[string]any, len(values))
	var hidden map[string]any
	for k, v := range values {
		if _, ok := s.hidden[k]; ok && v != nil {
			if hidden == nil {
				hidden = map[string]any{}
			}
			hidden[k] = v
			continue
		}
		params[k] = v
	}
	out, problems := coerceObject(s.Params, params)
	for k, v := range hidden {
		out[k] = v
	}
	return out, s.sorted(problems)
}

// IsParam reports whether a top-level name is a parameter (not a hidden
// part of the input).
func (s *Schema) IsParam(name string) bool {
	_, ok := s.Lookup(name)
	return ok
}

// Complete returns values with the defaults of absent parameters filled
// in; a parameter with no default stays absent.
func (s *Schema) Complete(values map[string]any) map[string]any {
	out := complete(s.Params, values)
	for k := range s.hidden {
		if v, ok := values[k]; ok {
			out[k] = v
		}
	}
	return out
}

func complete(params []*Param, values map[string]any) map[string]any {
	out := make(map[string]any, len(params))
	for _, p := range params {
		v, ok := values[p.Name]
		switch {
		case p.Kind == Object:
			sub, _ := v.(map[string]any)
			out[p.Name] = complete(p.Fields, sub)
		case ok:
			out[p.Name] = v
		case p.Default != nil:
			if l, isList := p.Default.([]string); isList {
				out[p.Name] = slices.Clone(l)
			} else {
				out[p.Name] = p.Default
			}
		}
	}
	return out
}

// Check normalizes values, fills in the defaults and applies every rule:
// the complete parameter document, or a *ValidationError listing every
// problem.
func (s *Schema) Check(values map[string]any) (map[string]any, error) {
	norm, problems := s.Normalize(values)
	full := s.Complete(norm)
	_, more := s.build(full, problems)
	if problems = s.sorted(append(problems, more...)); len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	return full, nil
}

// Decode reads a JSON parameter document into a new value of the
// parameter struct (a pointer to it), defaults applied and every rule
// checked. It never stops at the first problem: all of them are in the
// *ValidationError.
func (s *Schema) Decode(doc []byte) (any, error) {
	norm, problems := s.ParseJSON(doc)
	if len(problems) > 0 && norm == nil {
		return nil, &ValidationError{Problems: problems}
	}
	v, more := s.build(s.Complete(norm), problems)
	if problems = s.sorted(append(problems, more...)); len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	return v.Interface(), nil
}

// DecodePayload reads a workflow's input payload: JSON, or nothing at all
// (all defaults). Any other encoding is a problem, not a decoding error, so
// that the workflow ends with InvalidParameters.
func (s *Schema) DecodePayload(p *commonpb.Payload) (any, error) {
	if p == nil {
		return s.Decode(nil)
	}
	switch enc := string(p.GetMetadata()["encoding"]); enc {
	case "binary/null":
		return s.Decode(nil)
	case "json/plain":
		return s.Decode(p.GetData())
	default:
		return nil, &ValidationError{Problems: []Problem{{Msg: fmt.Sprintf("parameters must be a JSON object (got a payload with encoding %q)", enc)}}}
	}
}

// sorted orders problems by parameter (declaration order), unknown
// parameters last, and drops exact repeats.
func (s *Schema) sorted(problems []Problem) []Problem {
	index := map[string]int{}
	for i, p := range s.Params {
		index[p.Name] = i
	}
	for i := range problems {
		if problems[i].order >= math.MaxInt-1 {
			continue
		}
		if n, ok := index[problems[i].Top()]; ok {
			problems[i].order = n
		} else if problems[i].Path == "" {
			problems[i].order = -1
		} else {
			problems[i].order = math.MaxInt
		}
	}
	slices.SortStableFunc(problems, func(a, b Problem) int {
		switch {
		case a.order < b.order:
			return -1
		case a.order > b.order:
			return 1
		}
		return 0
	})
	return slices.CompactFunc(problems, func(a, b Problem) bool { return a.String() == b.String() })
}

// build sets a new parameter struct from complete canonical values and
// validates it. Rules are not checked on a parameter that already has a
// problem (its value is missing, so the rule would only repeat it), but
// every other parameter is checked.
func (s *Schema) build(values map[string]any, known []Problem) (reflect.Value, []Problem) {
	ptr := reflect.New(s.typ)
	var problems []Problem
	set(ptr.Elem(), s.Params, values, &problems)
	for k, i := range s.hidden {
		v, ok := values[k]
		if !ok {
			continue
		}
		b, err := json.Marshal(v)
		if err == nil {
			err = json.Unmarshal(b, ptr.Elem().Field(i).Addr().Interface())
		}
		if err != nil {
			problems = append(problems, Problem{Path: k, Msg: "is not valid (it is not a parameter: the blueprint CLI fills it in): " + jsonErr(err)})
		}
	}
	skip := func(path string) bool {
		for _, p := range append(slices.Clone(known), problems...) {
			if p.Path == "" {
				continue // unknown names do not hide the known ones
			}
			if path == p.Path || strings.HasPrefix(path, p.Path+".") || strings.HasPrefix(path, p.Path+"[") ||
				strings.HasPrefix(p.Path, path+".") || strings.HasPrefix(p.Path, path+"[") {
				return true
			}
		}
		return false
	}
	if err := validate.Struct(ptr.Interface()); err != nil {
		var ves validator.ValidationErrors
		if !errors.As(err, &ves) {
			problems = append(problems, Problem{Msg: "cannot validate the parameters: " + err.Error()})
			return ptr, problems
		}
		for _, fe := range ves {
			pr := describeFieldError(fe)
			if !skip(pr.Path) {
				problems = append(problems, pr)
			}
		}
	}
	// A rule no tag can say, such as one between two fields.
	if c, ok := ptr.Elem().Interface().(paramsChecker); ok && len(known) == 0 && len(problems) == 0 {
		for _, msg := range c.CheckParams() {
			problems = append(problems, Problem{Msg: msg, order: math.MaxInt - 1})
		}
	}
	return ptr, problems
}

// set writes canonical values into the struct v.
func set(v reflect.Value, params []*Param, values map[string]any, problems *[]Problem) {
	for _, p := range params {
		f := v.Field(p.index)
		val, ok := values[p.Name]
		if !ok || val == nil {
			continue
		}
		bad := func(msg string) { *problems = append(*problems, Problem{Path: p.Path, Value: Show(val), Msg: msg}) }
		if p.text {
			tv := p.textValue()
			if err := tv.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(val.(string))); err != nil {
				bad(err.Error())
				continue
			}
			f.Set(tv.Elem())
			continue
		}
		switch p.Kind {
		case String, Enum:
			f.SetString(val.(string))
		case Integer:
			n := val.(int64)
			if f.OverflowInt(n) {
				bad("is out of range for " + f.Type().String())
				continue
			}
			f.SetInt(n)
		case Number:
			f.SetFloat(val.(float64))
		case Boolean:
			f.SetBool(val.(bool))
		case Duration:
			d, err := time.ParseDuration(val.(string))
			if err != nil {
				bad("is not a duration")
				continue
			}
			f.SetInt(int64(d))
		case DateKind:
			d, err := ParseDate(val.(string))
			if err != nil {
				bad(err.Error())
				continue
			}
			f.Set(reflect.ValueOf(d))
		case DateTime:
			t, err := time.Parse(time.RFC3339Nano, val.(string))
			if err != nil {
				bad("is not an RFC 3339 date-time")
				continue
			}
			f.Set(reflect.ValueOf(t))
		case StringList:
			f.Set(reflect.ValueOf(slices.Clone(val.([]string))).Convert(f.Type()))
		case Object:
			sub, _ := val.(map[string]any)
			set(f, p.Fields, sub, problems)
		}
	}
}

// namedRules are rules with a name of their own, written once and shared
// by fields of several flows: validate:"batch_size" is DataPipeline's
// batch size rule wherever a batch size is passed on to it. The validator
// knows them as aliases; a Param's Rule holds them expanded, so `flows
// inspect`, the JSON Schema and messages show the real bounds.
var namedRules = map[string]string{
	"batch_size":        datapipeline.BatchSizeRule,
	"source_url_length": datapipeline.SourceURLLengthRule,
}

// expandRule replaces the named rules in a validate tag by what they
// stand for.
func expandRule(tag string) string {
	parts := strings.Split(tag, ",")
	for i, r := range parts {
		if full, ok := namedRules[r]; ok {
			parts[i] = full
		}
	}
	return strings.Join(parts, ",")
}

// validate is the one validator of every flow's parameters; its field
// names are the JSON names.
var validate = func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	for name, rule := range namedRules {
		v.RegisterAlias(name, rule)
	}
	if err := v.RegisterValidation(SourceURLRule, func(fl validator.FieldLevel) bool {
		_, err := sourceurl.Parse(fl.Field().String())
		return err == nil
	}); err != nil {
		panic(err)
	}
	if err := v.RegisterValidation(DatasetRule, func(fl validator.FieldLevel) bool {
		name := fl.Field().String()
		return name == "" || dataset.CheckName(name) == nil // "" is the flow's default dataset
	}); err != nil {
		panic(err)
	}
	return v
}()

// describeFieldError turns a broken rule into a Problem naming the
// parameter, its value (where it cannot be a secret, or with credentials
// hidden) and the rule.
func describeFieldError(fe validator.FieldError) Problem {
	path := fe.Namespace()
	if _, rest, ok := strings.Cut(path, "."); ok {
		path = rest
	}
	pr := Problem{Path: path}
	value := fe.Value()
	kind := fe.Kind()
	isText := kind == reflect.String
	isList := kind == reflect.Slice
	show := func() {
		if !isList {
			pr.Value = Show(value)
		}
	}
	param := fe.Param()
	if fe.Type() == durationType {
		// A duration's bound may be written in nanoseconds, the
		// validator's unit, or as a duration ("max=1h"); say it as one.
		if n, err := strconv.ParseInt(param, 10, 64); err == nil {
			param = time.Duration(n).String()
		}
	}
	switch fe.ActualTag() {
	case "required":
		pr.Msg = "is required"
	case "min", "gte", "max", "lte":
		// A bound counts characters of a text, items of a list, or is
		// the value itself.
		limit := "at least"
		if fe.ActualTag() == "max" || fe.ActualTag() == "lte" {
			limit = "at most"
		}
		switch {
		case isText:
			pr.Msg = fmt.Sprintf("must be %s %s characters", limit, param)
		case isList:
			pr.Msg = fmt.Sprintf("must have %s %s items", limit, param)
		default:
			show()
			pr.Msg = fmt.Sprintf("must be %s %s", limit, param)
		}
	case "gt":
		show()
		pr.Msg = "must be more than " + param
	case "lt":
		show()
		pr.Msg = "must be less than " + param
	case "oneof":
		show()
		values := strings.Fields(param)
		pr.Msg = "must be one of " + strings.Join(values, ", ")
		if sv, ok := value.(string); ok {
			pr.Msg += suggest.DidYouMean(sv, values)
		}
	case SourceURLRule:
		sv, _ := value.(string)
		_, err := sourceurl.Parse(sv)
		pr.Value = Show(sv)
		pr.Msg = fmt.Sprint(err)
	case DatasetRule:
		sv, _ := value.(string)
		pr.Value = Show(sv)
		pr.Msg = fmt.Sprint(dataset.CheckName(sv))
	case "unique":
		pr.Msg = "must not list the same value twice"
	case "timezone":
		show()
		pr.Msg = "is not a time zone; use an IANA name such as America/Chicago, or UTC"
	default:
		show()
		pr.Msg = fmt.Sprintf("breaks rule %q", strings.TrimSuffix(fe.ActualTag()+"="+param, "="))
	}
	return pr
}

// JSONKind names the JSON type of a document, for messages such as "must
// be a JSON object, got an array".
func JSONKind(doc []byte) string {
	if k := jsonkind.A(doc); k != "" {
		return k
	}
	return "something that is not JSON"
}

// jsonErr shortens encoding/json's messages.
func jsonErr(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
