// Package jsonkind names the JSON type of a value for messages ("must be a
// JSON object, got an array"): the one place that reads a type from a
// value's first byte. It imports nothing of blueprint.
package jsonkind

// Of names the JSON type of the value v starts with: "object", "array",
// "string", "boolean", "null" or "number"; "" when v is empty or does not
// start as JSON does. Only the first byte is read: v need not be valid.
func Of(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	switch c := v[0]; {
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == '"':
		return "string"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "number"
	}
	return ""
}

// A is Of with the article a message wants: "an object", "a string",
// "null"; "" as Of.
func A(v []byte) string {
	switch k := Of(v); k {
	case "", "null":
		return k
	case "object", "array":
		return "an " + k
	default:
		return "a " + k
	}
}
