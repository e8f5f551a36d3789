// Package dataset holds the model of a dataset: a record type declared in
// the manifest's datasets: section (or built in, like orders), with typed
// fields, the rules each field's values must pass, and the key a load
// upserts by. It owns the rules for a dataset's records: the manifest
// parser, DataPipeline's Transform and Load, `blueprint source check` and
// the store's table DDL all take them from here.
//
// A Definition is plain data (JSON-encodable), so it travels in a run's
// input like a named source's definition: a worker needs no manifest, and
// a schedule keeps the definition it was deployed with.
//
// It must not import `internal/store`, `internal/source`, `internal/transform`,
// `activities`, `workflows` or `deployments`: they all import it.
package dataset

// Type is a field's type.
type Type string

// The field types. Each has one normal form (see Normalize): what is
// stored, hashed and compared.
const (
	String    Type = "string"    // text, trimmed of nothing, NUL bytes refused
	Integer   Type = "integer"   // 64-bit signed; a JSON number or a string of digits
	Decimal   Type = "decimal"   // exact, Precision digits of which Scale after the point
	Boolean   Type = "boolean"   // true/false (JSON), or "true"/"false" strings
	Timestamp Type = "timestamp" // RFC 3339 (or with a space, or date only), stored in UTC
	Date      Type = "date"      // YYYY-MM-DD
	Email     Type = "email"     // an address, trimmed and lower-cased
	JSON      Type = "json"      // any JSON value, stored compact
)

// Types lists every type, in the order the docs show them. It is the one
// list the manifest parser, the JSON Schema of the manifest and the error
// messages take the valid names from.
var Types = []Type{String, Integer, Decimal, Boolean, Timestamp, Date, Email, JSON}

// Field is one field of a dataset.
type Field struct {
	Name string `json:"name"`
	Type Type   `json:"type"`
	// Required rejects a record without the field (missing or null).
	Required bool `json:"required,omitempty"`
	// MaxLength bounds a string's or email's length in characters.
	MaxLength int `json:"max_length,omitempty"`
	// Precision and Scale size a decimal: at most Precision digits, Scale
	// of them after the point (a value with more fraction digits is
	// rejected, never rounded).
	Precision int `json:"precision,omitempty"`
	Scale     int `json:"scale,omitempty"`
	// Min and Max bound an integer or a decimal (inclusive), written as
	// decimal text so that no bound is rounded through float64.
	Min string `json:"min,omitempty"`
	Max string `json:"max,omitempty"`
	// OneOf lists the values a string may take.
	OneOf []string `json:"one_of,omitempty"`
	// Pattern is an RE2 expression a string must match (unanchored, as
	// RE2 is: write ^...$ to match the whole value).
	Pattern string `json:"pattern,omitempty"`
	// Column is the table column the field is stored in; "" means Name.
	// Only built-in datasets set it (orders stores id as record_id).
	Column string `json:"column,omitempty"`
}

// Definition is a dataset: its name (also its table's name), fields in
// declaration order, and the key a load upserts by.
type Definition struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Key         []string `json:"key"`
	Fields      []Field  `json:"fields"`
	// Builtin marks a dataset that blueprint defines (orders): its table
	// is created by the store's migrations, not from the definition, and
	// the manifest may not redeclare it.
	Builtin bool `json:"builtin,omitempty"`
}

// Row is a record that passed its dataset's rules, in normal form.
type Row struct {
	// Key is the values of the key fields, joined so that two keys are
	// equal exactly when every value is: the run's duplicate check
	// compares it.
	Key string
	// Values holds one normal-form value per Definition.Fields, in order;
	// nil for an optional field the record does not have (or has as
	// null). See Value.
	Values []Value
	// Hash identifies the row's normal form, so that a load tells an
	// unchanged row from an updated one without comparing columns.
	Hash int64
}

// Value is a field's value in normal form, by type:
//   - string, email: string (an email trimmed and lower-cased);
//   - integer: int64;
//   - decimal: string, canonical ("12.50" -> "12.5", "-0" -> "0");
//   - boolean: bool;
//   - timestamp: time.Time, in UTC;
//   - date: string, "2006-01-02";
//   - json: string, the value's compact JSON text.
type Value = any

// Reasons a record is rejected that belong to no field. Any other reason is
// FieldReason(field, rule).
const (
	ReasonMalformed    = "malformed"     // not a JSON object, or a member repeated
	ReasonDuplicateKey = "duplicate_key" // an earlier record of the run had the key
)

// Rule names, as the manifest spells them; a field's rejection reason is
// FieldReason(field, rule), with RuleType for a value of the wrong type.
const (
	RuleRequired  = "required"
	RuleType      = "type"
	RuleMaxLength = "max_length"
	RulePrecision = "precision"
	RuleScale     = "scale"
	RuleMin       = "min"
	RuleMax       = "max"
	RuleOneOf     = "one_of"
	RulePattern   = "pattern"
)

// FieldReason is the rejection reason of a record whose field broke rule:
// "price.min", "sku.required".
func FieldReason(field, rule string) string { return field + "." + rule }
