package flow

import (
	"reflect"
	"strconv"
	"strings"
)

// JSONSchemaDialect is the JSON Schema version JSONSchema writes.
const JSONSchemaDialect = "https://json-schema.org/draft/2020-12/schema"

// goDurationPattern is Go's time.ParseDuration syntax, which duration
// parameters use (JSON Schema's "duration" format is ISO 8601's P1D).
const goDurationPattern = `^-?([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$|^0$`

// JSONSchema describes a flow's parameters as a JSON Schema (draft
// 2020-12), for editors, forms and other tools.
func (f *Flow) JSONSchema() map[string]any {
	s := objectSchema(f.Params.Params)
	s["$schema"] = JSONSchemaDialect
	s["title"] = f.Name
	if f.Description != "" {
		s["description"] = f.Description
	}
	return s
}

func objectSchema(params []*Param) map[string]any {
	props := map[string]any{}
	required := []string{}
	for _, p := range params {
		props[p.Name] = paramSchema(p)
		if p.Required() {
			required = append(required, p.Name)
		}
	}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func paramSchema(p *Param) map[string]any {
	var s map[string]any
	switch {
	case p.text:
		s = reflect.Zero(p.typ).Interface().(TextValue).ParamJSONSchema()
	case p.Kind == Object:
		s = objectSchema(p.Fields)
	case p.Kind == StringList:
		s = map[string]any{"type": "array", "items": map[string]any{"type": "string"}}
	case p.Kind == Enum:
		s = map[string]any{"type": "string", "enum": p.Enum}
	case p.Kind == Duration:
		s = map[string]any{"type": "string", "pattern": goDurationPattern}
	case p.Kind == DateKind:
		s = map[string]any{"type": "string", "format": "date"}
	case p.Kind == DateTime:
		s = map[string]any{"type": "string", "format": "date-time"}
	default:
		s = map[string]any{"type": string(p.Kind)}
	}
	if p.Help != "" {
		s["description"] = p.Help
	}
	if p.Default != nil {
		s["default"] = p.Default
	}
	if p.text {
		return s // its rule is in its own schema
	}
	rules, items, _ := strings.Cut(p.Rule, "dive")
	applyBounds(s, p.Kind, rules)
	if p.Kind == StringList && items != "" {
		applyBounds(s["items"].(map[string]any), String, items)
	}
	return s
}

// applyBounds maps min/max rules to the JSON Schema keyword of the kind.
func applyBounds(s map[string]any, k Kind, rules string) {
	for r := range strings.SplitSeq(rules, ",") {
		name, arg, ok := strings.Cut(strings.TrimSpace(r), "=")
		if !ok {
			continue
		}
		n, err := strconv.ParseFloat(arg, 64)
		if err != nil {
			continue
		}
		var key string
		switch {
		case k == Integer || k == Number:
			key = map[string]string{"min": "minimum", "gte": "minimum", "max": "maximum", "lte": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}[name]
		case k == StringList:
			key = map[string]string{"min": "minItems", "max": "maxItems"}[name]
		case k == String:
			key = map[string]string{"min": "minLength", "max": "maxLength"}[name]
		}
		if key != "" {
			if k == Number {
				s[key] = n
			} else {
				s[key] = int64(n)
			}
		}
	}
}
