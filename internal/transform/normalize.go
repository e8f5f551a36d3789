// Package transform holds the rules that turn raw extracted records into
// clean orders: field normalisation, validation and de-duplication, and the
// walk over a staged chunk of raw records that Transform and Load share.
//
// Everything here is pure (no I/O, no clock), so the rules can be tested
// exhaustively and fuzzed, and Load, reading a raw chunk again, gets
// exactly the orders Transform accepted.
//
// It must not import `internal/store`, `internal/source`, `activities` or
// `workflows`.
package transform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/jsonobj"
	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/text"
)

// jsonSpace is the white space JSON allows around values.
const jsonSpace = " \t\r\n"

// maxDetailValue bounds how much of a bad value a rejection detail quotes.
const maxDetailValue = 64

// rawOrder holds the raw JSON values of the fields Normalize reads, as
// sub-slices of the record. Each rule sees exactly what the source sent: a
// number's digits are never rounded through float64, and a missing field
// is told apart from an empty one.
type rawOrder struct {
	ID            json.RawMessage
	CustomerEmail json.RawMessage
	Category      json.RawMessage
	Amount        json.RawMessage
	Currency      json.RawMessage
	Timestamp     json.RawMessage
}

// field returns where the value of the member called name goes, or nil for
// a member Normalize ignores. Names match exactly, as JSON names do.
func (r *rawOrder) field(name []byte) *json.RawMessage {
	switch string(name) {
	case "id":
		return &r.ID
	case "customer_email":
		return &r.CustomerEmail
	case "category":
		return &r.Category
	case "amount":
		return &r.Amount
	case "currency":
		return &r.Currency
	case "timestamp":
		return &r.Timestamp
	}
	return nil
}

// Normalize turns one raw record (JSON, normally an object) into a clean
// Order, or says why it is rejected: reason is one of the record.Reason*
// constants and detail a short text naming the bad value. The rules run in
// the order of Order's fields and the first that fails is the reason.
// Member names match exactly; other members are ignored; a record that
// repeats one of Order's members is ambiguous, hence malformed. On a
// rejection o holds the fields that passed so far, so o.ID names the record
// whenever its id was fine.
//
// Duplicate ids are not Normalize's business: they need the run's state
// (see Deduper and Chunk).
func Normalize(raw []byte) (o record.Order, reason, detail string) {
	var r rawOrder
	if reason, detail := decodeObject(raw, &r); reason != "" {
		return o, reason, detail
	}
	var ok bool
	if o.ID, detail, ok = normID(r.ID); !ok {
		return o, record.ReasonMissingID, detail
	}
	if o.CustomerEmail, detail, ok = normEmail(r.CustomerEmail); !ok {
		return o, record.ReasonInvalidEmail, detail
	}
	if o.Category, detail, ok = normCategory(r.Category); !ok {
		return o, record.ReasonMissingCategory, detail
	}
	if o.Amount, reason, detail = normAmount(r.Amount); reason != "" {
		return o, reason, detail
	}
	if o.Currency, detail, ok = normCurrency(r.Currency); !ok {
		return o, record.ReasonInvalidCurrency, detail
	}
	if o.Timestamp, detail, ok = normTimestamp(r.Timestamp); !ok {
		return o, record.ReasonInvalidTimestamp, detail
	}
	return o, "", ""
}

// decodeObject points r's fields into raw, or says why raw is not a JSON
// object (jsonobj.Members walks it). A member Normalize reads that appears
// twice makes the record ambiguous, so it is malformed rather than
// silently resolved.
func decodeObject(raw []byte, r *rawOrder) (reason, detail string) {
	detail = jsonobj.Members(raw, func(name, value []byte) string {
		if dst := r.field(name); dst != nil {
			if *dst != nil {
				return fmt.Sprintf("member %q appears more than once", name)
			}
			*dst = value
		}
		return ""
	})
	if detail != "" {
		return record.ReasonMalformed, detail
	}
	return "", ""
}

// present reports whether a field was sent with a non-null value.
func present(v json.RawMessage) bool {
	return len(v) > 0 && !(len(v) == 4 && string(v) == "null")
}

// isString and isNumber classify a valid JSON value by its first byte.
func isString(v json.RawMessage) bool { return len(v) > 0 && v[0] == '"' }
func isNumber(v json.RawMessage) bool {
	return len(v) > 0 && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9'))
}

// unquote returns the text of a valid JSON string; see jsonobj.Unquote.
func unquote(v json.RawMessage) string { return jsonobj.Unquote(v) }

// isJSONInteger reports whether a JSON number has neither fraction nor
// exponent.
func isJSONInteger(v json.RawMessage) bool {
	return isNumber(v) && !bytes.ContainsAny(v, ".eE")
}

// normID accepts a string (trimmed, 1 to record.MaxIDLen bytes) or a JSON
// integer (kept as its decimal digits, so 7 and "7" are one id).
func normID(v json.RawMessage) (id, detail string, ok bool) {
	switch {
	case !present(v):
		return "", "id is missing", false
	case isString(v):
		id = strings.TrimSpace(unquote(v))
		if id == "" {
			return "", "id is empty", false
		}
	case isJSONInteger(v):
		id = string(v)
		if id == "-0" {
			id = "0"
		}
	default:
		return "", "id must be a string or an integer, got " + show(v), false
	}
	if len(id) > record.MaxIDLen {
		return "", fmt.Sprintf("id is longer than %d bytes: %s", record.MaxIDLen, showString(id)), false
	}
	if hasControl(id) {
		return "", "id contains control characters: " + showString(id), false
	}
	return id, "", true
}

// normEmail trims and lower-cases an address and checks it is plausible.
func normEmail(v json.RawMessage) (email, detail string, ok bool) {
	if !present(v) {
		return "", "customer_email is missing", false
	}
	if !isString(v) {
		return "", "customer_email must be a string, got " + show(v), false
	}
	email = strings.ToLower(strings.TrimSpace(unquote(v)))
	if problem := checkEmail(email); problem != "" {
		return "", "customer_email " + showString(email) + " " + problem, false
	}
	return email, "", true
}

// checkEmail says what makes an address implausible; see
// dataset.CheckEmail, its one owner.
func checkEmail(s string) string { return dataset.CheckEmail(s) }

// normCategory trims and lower-cases a category, which must not be empty.
func normCategory(v json.RawMessage) (category, detail string, ok bool) {
	if !present(v) {
		return "", "category is missing", false
	}
	if !isString(v) {
		return "", "category must be a string, got " + show(v), false
	}
	category = strings.ToLower(strings.TrimSpace(unquote(v)))
	if category == "" {
		return "", "category is empty", false
	}
	if hasControl(category) {
		return "", "category contains control characters: " + showString(category), false
	}
	return category, "", true
}

// normAmount accepts a JSON string or number holding a plain decimal and
// returns it in canonical form. See canonicalDecimal.
func normAmount(v json.RawMessage) (amount, reason, detail string) {
	var s string
	switch {
	case !present(v):
		return "", record.ReasonInvalidAmount, "amount is missing"
	case isString(v):
		s = strings.TrimSpace(unquote(v))
	case isNumber(v):
		s = string(v)
	default:
		return "", record.ReasonInvalidAmount, "amount must be a string or a number, got " + show(v)
	}
	canon, negative, problem := canonicalDecimal(s)
	if problem != "" {
		return "", record.ReasonInvalidAmount, "amount " + showString(s) + " " + problem
	}
	if negative {
		return "", record.ReasonNegativeAmount, "amount " + showString(s) + " is negative"
	}
	return canon, "", ""
}

// canonicalDecimal parses [+-]digits[.digits] exactly (dataset.ParseDecimal:
// no exponent, no float64 on the way) and returns it without leading zeros
// or trailing fractional zeros: "0012.50" -> "12.5", "3.000" -> "3", "-0.0"
// -> "0". Precision is judged on the value, so "1.5000000" is 1.5 and fine
// while "1.2345678" has seven decimal places and is not. negative is false
// for any zero.
func canonicalDecimal(s string) (canon string, negative bool, problem string) {
	d, problem := dataset.ParseDecimal(s)
	switch {
	case problem != "":
		return "", false, problem
	case len(d.Int) > record.MaxAmountIntDigits:
		return "", false, fmt.Sprintf("has more than %d integer digits", record.MaxAmountIntDigits)
	case len(d.Frac) > record.MaxAmountFracDigits:
		return "", false, fmt.Sprintf("has more than %d decimal places", record.MaxAmountFracDigits)
	}
	return d.String(), d.Negative, ""
}

// normCurrency trims and upper-cases a code of exactly three ASCII letters.
// Whether ISO 4217 assigned it is not checked: the list changes.
func normCurrency(v json.RawMessage) (currency, detail string, ok bool) {
	if !present(v) {
		return "", "currency is missing", false
	}
	if !isString(v) {
		return "", "currency must be a string, got " + show(v), false
	}
	s := strings.TrimSpace(unquote(v))
	if len(s) != 3 {
		return "", "currency " + showString(s) + " is not a three-letter code", false
	}
	var b [3]byte
	for i := range 3 {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		default:
			return "", "currency " + showString(s) + " is not a three-letter code", false
		}
	}
	return string(b[:]), "", true
}

// normTimestamp accepts RFC 3339 with any offset, the zone-less layouts
// above, or a JSON integer of Unix seconds, and returns the instant in UTC.
func normTimestamp(v json.RawMessage) (ts time.Time, detail string, ok bool) {
	switch {
	case !present(v):
		return time.Time{}, "timestamp is missing", false
	case isString(v):
		s := strings.TrimSpace(unquote(v))
		t, err := parseTimestamp(s)
		if err != nil {
			return time.Time{}, "timestamp " + showString(s) + ` is not RFC 3339, "YYYY-MM-DD hh:mm:ss" or Unix seconds`, false
		}
		ts = t.UTC()
	case isJSONInteger(v):
		secs, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return time.Time{}, "timestamp " + show(v) + " is out of range", false
		}
		ts = time.Unix(secs, 0).UTC()
	default:
		return time.Time{}, "timestamp must be a string or an integer of Unix seconds, got " + show(v), false
	}
	if y := ts.Year(); y < record.MinYear || y > record.MaxYear {
		return time.Time{}, fmt.Sprintf("timestamp %s is outside the years %d to %d", show(v), record.MinYear, record.MaxYear), false
	}
	return ts, "", true
}

// parseTimestamp reads RFC 3339 or the zone-less layouts; see
// dataset.ParseTimestamp, its one owner.
func parseTimestamp(s string) (time.Time, error) { return dataset.ParseTimestamp(s) }

// hasControl reports whether s holds ASCII control characters, which
// PostgreSQL (NUL) or the reject file's readers (the rest) choke on.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f {
			return true
		}
	}
	return false
}

// show quotes a raw JSON value for a detail, truncated.
func show(v json.RawMessage) string {
	return truncate(string(v), maxDetailValue)
}

// showString quotes a decoded string for a detail, truncated.
func showString(s string) string {
	if len(s) > maxDetailValue {
		return strconv.Quote(truncate(s, maxDetailValue))
	}
	return strconv.Quote(s)
}

// truncate cuts s to at most n bytes on a rune boundary and marks the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return text.Cut(s, n) + "…"
}
