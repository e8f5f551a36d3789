package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"

	"github.com/go-playground/validator/v10"
	commonpb "go.temporal.io/api/common/v1"

	"github.com/blueprint-etl/blueprint/internal/source/restapi"
	"github.com/blueprint-etl/blueprint/internal/suggest"
)

// Defaults applied to fields the input does not mention.
const (
	DefaultBatchSize = 100
	DefaultSourceURL = "demo://orders"
	MaxBatchSize     = 100_000_000
)

// Params is the workflow input (the Prefect original's ExtractConfig). JSON
// names are snake_case so that a run can be started from the Temporal CLI or
// Web UI with the same document the blueprint CLI sends.
type Params struct {
	// BatchSize is how many records one run extracts.
	BatchSize int `json:"batch_size" validate:"min=1,max=100000000" help:"records to extract in one run"`
	// SourceURL says where to extract from: http(s)://, file://, demo://
	// or source:NAME, a source declared in the manifest's sources: section.
	SourceURL string `json:"source_url" validate:"required,max=4096,source_url" help:"http(s):// JSON API, file:// JSON/NDJSON/CSV file, demo://orders, or source:NAME from the manifest's sources:"`
	// Source is the definition of the source:NAME that SourceURL names.
	// The blueprint CLI fills it from the manifest, so the worker needs no
	// copy of the manifest; it holds environment variable names, never
	// secrets. It is not a parameter one sets by hand (param:"-").
	Source *restapi.Definition `json:"source,omitempty" validate:"-" param:"-"`

	// problems collects what went wrong while decoding, so that a malformed
	// input fails the workflow with InvalidParameters instead of failing the
	// workflow task (which the server would retry forever).
	problems []string
	decoded  bool
}

// UnmarshalJSON applies defaults for absent fields and never fails: type
// errors and unknown fields are kept and reported by Validate.
func (p *Params) UnmarshalJSON(b []byte) error {
	type plain Params
	v := plain{BatchSize: DefaultBatchSize, SourceURL: DefaultSourceURL}
	*p = Params{decoded: true}
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		p.problems = append(p.problems, "parameters must be a JSON object")
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		p.problems = append(p.problems, describeDecodeError(err))
		return nil
	}
	// json.Unmarshal only ever passes one value, but a direct caller may not.
	if _, err := dec.Token(); err != io.EOF {
		p.problems = append(p.problems, "parameters are not valid JSON: data after the object")
		return nil
	}
	v.problems, v.decoded = p.problems, true
	*p = Params(v)
	return nil
}

// describeDecodeError turns encoding/json's errors into the one-line form
// the rest of the validation uses.
func describeDecodeError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if n, ok := strings.CutPrefix(te.Value, "number "); ok && te.Type.Kind() == reflect.Int && !strings.ContainsAny(n, ".eE") {
			return fmt.Sprintf("%s=%s: is out of range for an integer", te.Field, n)
		}
		hint := ""
		if te.Field == "source" {
			hint = ` (the definition of source_url's source:NAME, filled in by the blueprint CLI); did you mean "source_url"?`
		}
		return fmt.Sprintf("%s: got a JSON %s, must be %s%s", te.Field, te.Value, jsonKind(te.Type), hint)
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name := strings.Trim(f, `"`)
		return fmt.Sprintf("%s: unknown parameter (valid: %s)%s", name, strings.Join(ParamNames(), ", "), suggestion(name))
	}
	return "parameters are not valid JSON: " + strings.TrimPrefix(msg, "json: ")
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.String:
		return "a string"
	case reflect.Struct, reflect.Pointer, reflect.Map:
		return "an object"
	default:
		return t.String()
	}
}

// WithDefaults returns p with defaults for a zero value that was never
// decoded (a start with no input at all).
func (p Params) WithDefaults() Params {
	if !p.decoded && p.BatchSize == 0 && p.SourceURL == "" {
		p.BatchSize, p.SourceURL = DefaultBatchSize, DefaultSourceURL
	}
	return p
}

var validate = newValidator()

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		return strings.Split(f.Tag.Get("json"), ",")[0]
	})
	if err := v.RegisterValidation("source_url", func(fl validator.FieldLevel) bool {
		_, err := ParseSourceURL(fl.Field().String())
		return err == nil
	}); err != nil {
		panic(err)
	}
	return v
}

// ValidationError lists every broken rule, one per field, in field order.
type ValidationError struct{ Problems []string }

func (e *ValidationError) Error() string {
	return "invalid parameters: " + strings.Join(e.Problems, "; ")
}

// Validate checks every field and returns a *ValidationError naming each
// bad field, its value and the rule it breaks.
func (p Params) Validate() error {
	problems := append([]string(nil), p.problems...)
	if len(problems) == 0 {
		if err := validate.Struct(p); err != nil {
			var ves validator.ValidationErrors
			if !errors.As(err, &ves) {
				return fmt.Errorf("validate parameters: %w", err)
			}
			for _, fe := range ves {
				problems = append(problems, describeFieldError(fe))
			}
		}
	}
	if len(problems) == 0 {
		problems = p.checkSource()
	}
	if len(problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: problems}
}

func describeFieldError(fe validator.FieldError) string {
	name := fe.Field()
	switch fe.Tag() {
	case "min":
		return fmt.Sprintf("%s=%v: must be at least %s", name, fe.Value(), fe.Param())
	case "max":
		if fe.Kind() == reflect.String {
			return fmt.Sprintf("%s: must be at most %s characters", name, fe.Param())
		}
		return fmt.Sprintf("%s=%v: must be at most %s", name, fe.Value(), fe.Param())
	case "required":
		return fmt.Sprintf("%s: is required", name)
	case "source_url":
		_, err := ParseSourceURL(fe.Value().(string))
		return fmt.Sprintf("%s=%q: %v", name, RedactURL(fe.Value().(string)), err)
	default:
		return fmt.Sprintf("%s=%v: breaks rule %q", name, fe.Value(), fe.Tag())
	}
}

// ParamSpec describes one parameter for tools that build a Params from
// strings (the CLI's --param k=v) and for help texts.
type ParamSpec struct {
	Name    string `json:"name"`
	Type    string `json:"type"` // "integer" or "string"
	Default any    `json:"default"`
	Help    string `json:"help"`
}

// ParamSpecs is derived from the Params struct, so adding a field to Params
// is all it takes to make it a parameter everywhere.
var ParamSpecs = func() []ParamSpec {
	defaults := Params{BatchSize: DefaultBatchSize, SourceURL: DefaultSourceURL}
	dv := reflect.ValueOf(defaults)
	t := dv.Type()
	var specs []ParamSpec
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Tag.Get("param") == "-" {
			continue
		}
		spec := ParamSpec{Name: strings.Split(f.Tag.Get("json"), ",")[0], Help: f.Tag.Get("help"), Default: dv.Field(i).Interface()}
		switch f.Type.Kind() {
		case reflect.Int:
			spec.Type = "integer"
		default:
			spec.Type = "string"
		}
		specs = append(specs, spec)
	}
	return specs
}()

// ParamNames lists the parameter names in sorted order.
func ParamNames() []string {
	names := make([]string, 0, len(ParamSpecs))
	for _, s := range ParamSpecs {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	return names
}

// LookupParam finds a parameter by name.
func LookupParam(name string) (ParamSpec, bool) {
	for _, s := range ParamSpecs {
		if s.Name == name {
			return s, true
		}
	}
	return ParamSpec{}, false
}

// UnknownParamError says a parameter does not exist, lists the valid ones
// and suggests the nearest.
func UnknownParamError(name string) error {
	return fmt.Errorf("unknown parameter %q (valid: %s)%s", name, strings.Join(ParamNames(), ", "), suggestion(name))
}

func suggestion(name string) string { return suggest.DidYouMean(name, ParamNames()) }

// DecodeParams reads the workflow's input payload. It never fails: input
// that is not JSON, not an object or of another encoding gives Params
// whose Validate says so, so the workflow ends with InvalidParameters
// instead of a decoding error (which the SDK's own converter would raise
// before Params.UnmarshalJSON could see the bytes). No input at all gives
// the zero Params, which WithDefaults fills.
func DecodeParams(p *commonpb.Payload) Params {
	if p == nil {
		return Params{}
	}
	switch enc := string(p.GetMetadata()["encoding"]); enc {
	case "binary/null":
		return Params{}
	case "json/plain":
		var params Params
		_ = params.UnmarshalJSON(p.GetData()) // never fails: problems are kept for Validate
		return params
	default:
		return Params{decoded: true, problems: []string{fmt.Sprintf("parameters must be a JSON object (got a payload with encoding %q)", enc)}}
	}
}

// checkSource checks that a source:NAME comes with its definition, and
// that a definition comes only with the source:NAME it defines.
func (p Params) checkSource() []string {
	spec, err := ParseSourceURL(p.SourceURL)
	if err != nil { // reported by the source_url rule
		return nil
	}
	switch {
	case spec.Kind != SourceNamed && p.Source != nil:
		return []string{fmt.Sprintf("source: a source definition (for %q) goes with source_url=source:%s only", p.Source.Name, p.Source.Name)}
	case spec.Kind != SourceNamed:
		return nil
	case p.Source == nil:
		return []string{fmt.Sprintf("source_url=%s: the input carries no definition of source %q; start the run with the blueprint CLI, which takes it from the manifest's sources:", p.SourceURL, spec.Name)}
	case p.Source.Name != spec.Name:
		return []string{fmt.Sprintf("source: the definition is of source %q, but source_url names %q", p.Source.Name, spec.Name)}
	}
	var problems []string
	for _, pr := range p.Source.Validate() {
		problems = append(problems, "source."+pr.String())
	}
	return problems
}

// Spec returns the parsed source of p: its SourceURL, or for a
// source:NAME the http(s) source its definition describes.
func (p Params) Spec() (SourceSpec, error) {
	spec, err := ParseSourceURL(p.SourceURL)
	if err != nil || spec.Kind != SourceNamed {
		return spec, err
	}
	if problems := p.checkSource(); len(problems) > 0 {
		return SourceSpec{}, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	u, err := ParseSourceURL(p.Source.URL)
	if err != nil || u.Kind != SourceHTTP {
		return SourceSpec{}, fmt.Errorf("source.url=%q: is not an http(s) URL", RedactURL(p.Source.URL))
	}
	u.Name, u.API = spec.Name, p.Source
	return u, nil
}
