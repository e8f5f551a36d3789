package deployments

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/blueprint-etl/blueprint/internal/redact"
)

// FormatParams renders parameters as one-line JSON with keys sorted and
// credentials in URLs hidden, for plans, tables and diffs.
func FormatParams(m map[string]any) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%q:%s", k, FormatValue(m[k])))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// FormatValue renders one parameter value as JSON, with credentials in a
// URL hidden.
func FormatValue(v any) string {
	v = redact.Value(v)
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep & in URLs readable
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
