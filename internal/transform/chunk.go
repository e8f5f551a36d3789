package transform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/blueprint-etl/blueprint/internal/record"
)

// MaxRejectedRaw bounds the raw record kept with a rejection.
const MaxRejectedRaw = 4 << 10

// Deduper remembers the ids of the valid records of one run, so that only
// the first valid record with an id is kept. It is not safe for concurrent
// use: a run transforms its chunks in order.
type Deduper struct {
	seen map[string]struct{}
}

// NewDeduper returns an empty Deduper.
func NewDeduper() *Deduper {
	return &Deduper{seen: make(map[string]struct{})}
}

// Seen records id and reports whether it had been recorded before.
func (d *Deduper) Seen(id string) bool {
	if _, ok := d.seen[id]; ok {
		return true
	}
	d.seen[id] = struct{}{}
	return false
}

// Len is the number of distinct ids recorded.
func (d *Deduper) Len() int { return len(d.seen) }

// Chunk transforms one staged chunk: NDJSON, one raw record per line
// (lines holding only JSON white space are skipped and not counted). It returns
// the clean orders as NDJSON, one Order per line in input order, how many
// there are, and the rejected records with their position among the
// chunk's records (0-based). A record whose id d has already seen is
// rejected as a duplicate; a nil d disables that check.
func Chunk(data []byte, d *Deduper) (clean []byte, nValid int, rejects []record.Rejected) {
	// Clean records are about as long as raw ones.
	clean = make([]byte, 0, len(data)+len(data)/8)
	index := 0
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.Trim(line, jsonSpace)
		if len(line) == 0 {
			continue
		}
		o, reason, detail := Normalize(line)
		if reason == "" && d != nil && d.Seen(o.ID) {
			reason, detail = record.ReasonDuplicateID, fmt.Sprintf("id %s was already seen in this run", showString(o.ID))
		}
		if reason != "" {
			rejects = append(rejects, record.Rejected{
				Index:    index,
				RecordID: o.ID,
				Reason:   reason,
				Detail:   detail,
				Raw:      truncateBytes(line, MaxRejectedRaw),
			})
		} else {
			clean = AppendOrder(clean, o)
			clean = append(clean, '\n')
			nValid++
		}
		index++
	}
	return clean, nValid, rejects
}

// truncateBytes cuts b to at most n bytes on a rune boundary.
func truncateBytes(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(b[:cut])
}

// AppendOrder appends o as one JSON object, byte for byte what
// json.Marshal(o) produces, at a fraction of its cost.
func AppendOrder(b []byte, o record.Order) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, o.ID)
	b = append(b, `,"customer_email":`...)
	b = appendString(b, o.CustomerEmail)
	b = append(b, `,"category":`...)
	b = appendString(b, o.Category)
	b = append(b, `,"amount":`...)
	b = appendString(b, o.Amount)
	b = append(b, `,"currency":`...)
	b = appendString(b, o.Currency)
	b = append(b, `,"timestamp":"`...)
	b = o.Timestamp.AppendFormat(b, time.RFC3339Nano)
	return append(b, `"}`...)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string escaped exactly as encoding/json
// does by default: HTML-safe, invalid UTF-8 as U+FFFD, U+2028 and U+2029
// escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// DecodeOrders parses clean NDJSON (Chunk's output) into dst[:0], reusing
// its storage, and returns the orders. Blank lines are skipped; a line that
// is not an Order (unknown fields included, so a format change cannot slip
// through) is an error naming the line.
func DecodeOrders(clean []byte, dst []record.Order) ([]record.Order, error) {
	dst = dst[:0]
	for lineNo := 1; len(clean) > 0; lineNo++ {
		line := clean
		if i := bytes.IndexByte(clean, '\n'); i >= 0 {
			line, clean = clean[:i], clean[i+1:]
		} else {
			clean = nil
		}
		if len(bytes.Trim(line, jsonSpace)) == 0 {
			continue
		}
		dst = append(dst, record.Order{})
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&dst[len(dst)-1]); err != nil {
			return dst[:len(dst)-1], fmt.Errorf("clean record on line %d: %w", lineNo, err)
		}
		if _, err := dec.Token(); err != io.EOF {
			return dst[:len(dst)-1], fmt.Errorf("clean record on line %d: data after the object", lineNo)
		}
	}
	return dst, nil
}
