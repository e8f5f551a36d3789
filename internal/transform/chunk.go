package transform

import (
	"bytes"
	"fmt"

	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/text"
)

// MaxRejectedRaw bounds the raw record kept with a rejection.
const MaxRejectedRaw = 4 << 10

// Deduper remembers ids in memory, so that only the first valid record
// with an id is kept. Transform uses one per chunk: the ids of a run's
// other chunks are the run's duplicate check's (store.PutTransformChunk
// and store.Keys), which holds them compactly and keeps a large run's in
// the database, as a run of any size must fit in a worker's memory. It is
// not safe for concurrent use.
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

// Valid is a record of a chunk that passed the rules: its position among
// the chunk's records, the clean order, and the raw record (a sub-slice of
// the chunk), kept in case the run's duplicate check rejects it after all.
type Valid struct {
	Index int
	Order record.Order // orders only
	Raw   []byte
	// Key is the record's key, for a record of a declared dataset
	// (DatasetChunk); an order's key is its Order.ID (see ID).
	Key string
	// Row is the record of a declared dataset as its rules normalised
	// it (DatasetChunk): what Load upserts.
	Row   dataset.Row
	keyed bool
}

// ID is what the run's duplicate check compares: a dataset record's key,
// or an order's id.
func (v Valid) ID() string {
	if v.keyed {
		return v.Key
	}
	return v.Order.ID
}

// eachRecord calls fn with every record of a staged chunk and its index:
// NDJSON, one raw record per line; lines holding only JSON white space are
// skipped and not counted. Chunk and Orders both walk a chunk with it, so
// that an index means the same record to both.
func eachRecord(data []byte, fn func(index int, line []byte)) {
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
		fn(index, line)
		index++
	}
}

// Chunk checks one staged chunk: it returns the records that pass the
// rules, in input order, and the rejected ones with their reason and their
// position among the chunk's records (0-based). A record whose id d has
// already seen is rejected as a duplicate; a nil d disables that check.
// Duplicates of ids kept by earlier chunks of a run are the store's to find
// (store.PutTransformChunk), with Duplicate.
func Chunk(data []byte, d *Deduper) (valid []Valid, rejects []record.Rejected) {
	eachRecord(data, func(index int, line []byte) {
		o, reason, detail := Normalize(line)
		if reason == "" && d != nil && d.Seen(o.ID) {
			rejects = append(rejects, Duplicate(Valid{Index: index, Order: o, Raw: line}))
			return
		}
		if reason != "" {
			rejects = append(rejects, record.Rejected{
				Index:    index,
				RecordID: o.ID,
				Reason:   reason,
				Detail:   detail,
				Raw:      string(text.Cut(line, MaxRejectedRaw)),
			})
			return
		}
		valid = append(valid, Valid{Index: index, Order: o, Raw: line})
	})
	return valid, rejects
}

// Duplicate is the rejection of a valid record whose id an earlier record
// of the run already had: only the first valid record with an id is kept.
func Duplicate(v Valid) record.Rejected {
	reason, what := record.ReasonDuplicateID, "id"
	if v.keyed {
		reason, what = dataset.ReasonDuplicateKey, "key"
	}
	return record.Rejected{
		Index:    v.Index,
		RecordID: v.ID(),
		Reason:   reason,
		Detail:   fmt.Sprintf("%s %s was already seen in this run", what, showString(v.ID())),
		Raw:      string(text.Cut(v.Raw, MaxRejectedRaw)),
	}
}

// DatasetChunk is Chunk for the records of a declared dataset, checked by
// its rules: a valid record's Key is its key, which d and the run's
// duplicate check compare. A rejected record's RecordID is empty: its key
// may be what is wrong.
func DatasetChunk(data []byte, d *Deduper, rules *dataset.Rules) (valid []Valid, rejects []record.Rejected) {
	eachRecord(data, func(index int, line []byte) {
		row, reason, detail := rules.Normalize(line)
		if reason != "" {
			rejects = append(rejects, record.Rejected{
				Index:  index,
				Reason: reason,
				Detail: detail,
				Raw:    string(text.Cut(line, MaxRejectedRaw)),
			})
			return
		}
		v := Valid{Index: index, Raw: line, Key: row.Key, Row: row, keyed: true}
		if d != nil && d.Seen(row.Key) {
			rejects = append(rejects, Duplicate(v))
			return
		}
		valid = append(valid, v)
	})
	return valid, rejects
}

// DatasetRows is Orders for a declared dataset: the rows of the records
// of a staged chunk whose index is not in rejected, appended to dst[:0].
func DatasetRows(data []byte, rejected []int, rules *dataset.Rules, dst []dataset.Row) ([]dataset.Row, error) {
	dst = dst[:0]
	err := eachKept(data, rejected, func(index int, line []byte) error {
		row, reason, detail := rules.Normalize(line)
		if reason != "" {
			return &DriftError{Index: index, Reason: reason, Detail: detail}
		}
		dst = append(dst, row)
		return nil
	})
	return dst, err
}

// eachKept calls fn with every record of a staged chunk whose index is not
// in rejected (sorted), until fn returns an error.
func eachKept(data []byte, rejected []int, fn func(index int, line []byte) error) error {
	var err error
	eachRecord(data, func(index int, line []byte) {
		if err != nil {
			return
		}
		for len(rejected) > 0 && rejected[0] < index {
			rejected = rejected[1:]
		}
		if len(rejected) > 0 && rejected[0] == index {
			return
		}
		err = fn(index, line)
	})
	return err
}

// DriftError is a record Transform kept that fails the rules when Load
// reads it again: the rules changed in between (a worker upgraded during
// a run) or the staged data did. No retry can cure it.
type DriftError struct {
	Index          int
	RecordID       string
	Reason, Detail string
}

func (e *DriftError) Error() string {
	return fmt.Sprintf("record %d (id %s) passed the transform but now fails it: %s: %s", e.Index, showString(e.RecordID), e.Reason, e.Detail)
}

// Orders reads a staged chunk again for Load: the clean orders of the
// records whose index is not in rejected (sorted, as Transform stored
// them), appended to dst[:0]. Normalize is a pure function, so every record
// Transform kept passes again; one that does not is a *DriftError.
func Orders(data []byte, rejected []int, dst []record.Order) ([]record.Order, error) {
	dst = dst[:0]
	err := eachKept(data, rejected, func(index int, line []byte) error {
		o, reason, detail := Normalize(line)
		if reason != "" {
			return &DriftError{Index: index, RecordID: o.ID, Reason: reason, Detail: detail}
		}
		dst = append(dst, o)
		return nil
	})
	return dst, err
}
