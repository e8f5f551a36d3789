package datapipeline

import (
	"encoding/json"
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
