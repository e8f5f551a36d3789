package pipeline

import (
	"encoding/json"
	"strings"
)

// Object returns the parameters as the JSON object the workflow receives:
// snake_case keys and JSON value types (numbers are float64). It is the
// one conversion of Params to JSON that the schedules' comparison with the
// server, the CLI's output and the run record share. Params holds only
// JSON-safe fields, so the conversion cannot fail.
func (p Params) Object() map[string]any {
	m := map[string]any{}
	if b, err := json.Marshal(p); err == nil {
		_ = json.Unmarshal(b, &m)
	}
	return m
}

// RedactObject returns a copy of a parameters object with the credentials
// in its URL values hidden (RedactValue), for output and for records.
func RedactObject(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = RedactValue(v)
	}
	return out
}

// RedactValue hides the credentials of a parameter value that is a URL
// (a string with "://", through RedactURL); other values are returned as
// they are.
func RedactValue(v any) any {
	if s, ok := v.(string); ok && strings.Contains(s, "://") {
		return RedactURL(s)
	}
	return v
}
