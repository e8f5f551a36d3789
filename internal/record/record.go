// Package record holds the normalized order record that Transform produces
// and Load writes, and the reasons a raw record can be rejected.
//
// It imports nothing of blueprint.
package record

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"time"
)

// Limits an order must meet to be stored. They are defined here, once:
// Transform rejects a record that breaks one, with a reason, and the store
// checks each row against the same constants before writing it (its
// columns are declared to hold exactly this: orders.amount is
// NUMERIC(MaxAmountIntDigits+MaxAmountFracDigits, MaxAmountFracDigits) on
// PostgreSQL, which a store test pins). Raising a limit takes a new store
// migration.
const (
	// MaxIDLen bounds an id, in bytes: ids are primary keys.
	MaxIDLen = 256
	// MaxEmailLen and MaxEmailLocalLen are the limits of RFC 5321.
	MaxEmailLen      = 254
	MaxEmailLocalLen = 64
	// MaxAmountIntDigits and MaxAmountFracDigits bound an amount so that it
	// is stored exactly; anything beyond is a data error, not something to
	// round silently.
	MaxAmountIntDigits  = 14
	MaxAmountFracDigits = 6
	// MinYear and MaxYear bound a timestamp (after conversion to UTC).
	MinYear = 1970
	MaxYear = 2100
)

// Order is one clean, normalized record.
type Order struct {
	ID            string    `json:"id"`
	CustomerEmail string    `json:"customer_email"` // trimmed, lower-case
	Category      string    `json:"category"`       // trimmed, lower-case
	Amount        string    `json:"amount"`         // exact decimal, canonical form ("12.50" -> "12.5", "3" -> "3")
	Currency      string    `json:"currency"`       // ISO 4217, upper-case
	Timestamp     time.Time `json:"timestamp"`      // UTC
}

// Hash identifies the content of an order, so Load can tell an unchanged
// row from an updated one without comparing every column in SQL.
func (o Order) Hash() int64 {
	h := fnv.New64a()
	for _, s := range []string{o.ID, o.CustomerEmail, o.Category, o.Amount, o.Currency} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(o.Timestamp.UnixNano()))
	h.Write(b[:])
	return int64(h.Sum64())
}

// Reasons a raw record is rejected. They are stable: they are stored with
// each rejected record and counted in the run summary.
const (
	ReasonMalformed        = "malformed"         // not a JSON object
	ReasonMissingID        = "missing_id"        // no id, or an empty one
	ReasonInvalidEmail     = "invalid_email"     // missing or not an address
	ReasonMissingCategory  = "missing_category"  // missing or empty category
	ReasonInvalidAmount    = "invalid_amount"    // missing, not a decimal, or too precise
	ReasonNegativeAmount   = "negative_amount"   // below zero
	ReasonInvalidCurrency  = "invalid_currency"  // not three letters
	ReasonInvalidTimestamp = "invalid_timestamp" // missing or unparseable
	ReasonDuplicateID      = "duplicate_id"      // an earlier record of the run had the id
)

// Rejected is a raw record that did not pass, kept for inspection.
type Rejected struct {
	Index    int    `json:"index"`     // position in its chunk
	RecordID string `json:"record_id"` // may be empty when the id is what is wrong
	Reason   string `json:"reason"`
	Detail   string `json:"detail"`
	Raw      string `json:"raw"` // the raw record, truncated to 4 KiB
}

// FormatReasons writes rejected counts by reason as "reason: n, ...",
// sorted by reason.
func FormatReasons(m map[string]int64) string {
	// Sorted keys make the result deterministic (workflow code calls it).
	//workflowcheck:ignore
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
