package transform

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/record"
)

// order builds a valid raw record with the given id and amount.
func order(id, amount string) string {
	return fmt.Sprintf(`{"id":%s,"customer_email":"A@Example.com","category":"Books","amount":%s,"currency":"eur","timestamp":"2024-03-01T10:00:00+01:00"}`, id, amount)
}

// cleanOrder is what order(id, amount) becomes once normalised.
func cleanOrder(id, amount string) record.Order {
	return record.Order{ID: id, CustomerEmail: "a@example.com", Category: "books", Amount: amount, Currency: "EUR",
		Timestamp: time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)}
}

// orders and indexes list what valid records hold.
func orders(valid []Valid) []record.Order {
	var out []record.Order
	for _, v := range valid {
		out = append(out, v.Order)
	}
	return out
}

func indexes(valid []Valid) []int {
	var out []int
	for _, v := range valid {
		out = append(out, v.Index)
	}
	return out
}

func TestChunk(t *testing.T) {
	lines := []string{
		order(`"a"`, `"1.50"`),        // 0 valid
		``,                            //   blank: skipped, not counted
		order(`"b"`, `"-1"`),          // 1 negative: b is not taken
		`{"id":"c",`,                  // 2 malformed
		order(`" a "`, `"2"`),         // 3 duplicate of a after trimming
		"   \t",                       //   blank
		order(`"b"`, `"3"`),           // 4 valid: the first valid b
		order(`7`, `"4"`),             // 5 valid
		order(`"7"`, `"5"`) + "\r",    // 6 duplicate: integer and string ids are one id; CRLF
		`[1]`,                         // 7 malformed
		order(`"b"`, `"6"`),           // 8 duplicate
		order(`"d"`, `"7.000"`) + " ", // 9 valid, no final newline
	}
	data := []byte(strings.Join(lines, "\n"))

	valid, rejects := Chunk(data, NewDeduper())

	assert.Equal(t, []record.Order{cleanOrder("a", "1.5"), cleanOrder("b", "3"), cleanOrder("7", "4"), cleanOrder("d", "7")}, orders(valid))
	assert.Equal(t, []int{0, 4, 5, 9}, indexes(valid))
	assert.Equal(t, lines[0], string(valid[0].Raw))
	assert.Equal(t, order(`"d"`, `"7.000"`), string(valid[3].Raw), "raw is trimmed")
	type rej struct {
		Index          int
		RecordID       string
		Reason, Detail string
	}
	var got []rej
	for _, r := range rejects {
		got = append(got, rej{r.Index, r.RecordID, r.Reason, r.Detail})
	}
	assert.Equal(t, []rej{
		{1, "b", record.ReasonNegativeAmount, `amount "-1" is negative`},
		{2, "", record.ReasonMalformed, "invalid JSON: unexpected end of JSON input"},
		{3, "a", record.ReasonDuplicateID, `id "a" was already seen in this run`},
		{6, "7", record.ReasonDuplicateID, `id "7" was already seen in this run`},
		{7, "", record.ReasonMalformed, "not a JSON object but a JSON array"},
		{8, "b", record.ReasonDuplicateID, `id "b" was already seen in this run`},
	}, got)
	assert.Equal(t, lines[2], rejects[0].Raw)
	assert.Equal(t, lines[3], rejects[1].Raw)
	assert.Equal(t, lines[4], rejects[2].Raw)
	assert.Equal(t, order(`"7"`, `"5"`), rejects[3].Raw, "raw is trimmed of the CR")
}

func TestChunkDeduperSpansChunks(t *testing.T) {
	d := NewDeduper()
	valid, rejects := Chunk([]byte(order(`"a"`, `1`)+"\n"+order(`"b"`, `1`)), d)
	require.Len(t, valid, 2)
	require.Empty(t, rejects)
	assert.Equal(t, 2, d.Len())

	valid, rejects = Chunk([]byte(order(`"b"`, `2`)+"\n"+order(`"c"`, `2`)+"\n"), d)
	assert.Equal(t, []record.Order{cleanOrder("c", "2")}, orders(valid))
	assert.Equal(t, []int{1}, indexes(valid))
	require.Len(t, rejects, 1)
	assert.Equal(t, record.ReasonDuplicateID, rejects[0].Reason)
	assert.Equal(t, 0, rejects[0].Index, "index counts within its own chunk")
	assert.Equal(t, 3, d.Len())
}

func TestChunkWithoutDeduper(t *testing.T) {
	valid, rejects := Chunk([]byte(order(`"a"`, `1`)+"\n"+order(`"a"`, `1`)), nil)
	assert.Equal(t, []record.Order{cleanOrder("a", "1"), cleanOrder("a", "1")}, orders(valid))
	assert.Empty(t, rejects)
}

func TestChunkEmpty(t *testing.T) {
	for _, data := range []string{"", "\n", "\n\n  \n\r\n"} {
		valid, rejects := Chunk([]byte(data), NewDeduper())
		assert.Empty(t, valid)
		assert.Empty(t, rejects)
	}
}

func TestChunkTruncatesRaw(t *testing.T) {
	// A rejected record of 3-byte characters: 4096 is not a multiple of 3,
	// so a byte cut would split one.
	raw := `{"id":"x","customer_email":"` + strings.Repeat("€", 5000) + `"}`
	_, rejects := Chunk([]byte(raw), NewDeduper())
	require.Len(t, rejects, 1)
	assert.Equal(t, record.ReasonInvalidEmail, rejects[0].Reason)
	assert.LessOrEqual(t, len(rejects[0].Raw), MaxRejectedRaw)
	assert.Greater(t, len(rejects[0].Raw), MaxRejectedRaw-4)
	assert.True(t, utf8.ValidString(rejects[0].Raw))
	assert.True(t, strings.HasPrefix(raw, rejects[0].Raw))
}

func TestDeduper(t *testing.T) {
	d := NewDeduper()
	assert.False(t, d.Seen("a"))
	assert.True(t, d.Seen("a"))
	assert.False(t, d.Seen("A"), "ids are case-sensitive")
	assert.False(t, d.Seen(""))
	assert.True(t, d.Seen(""))
	assert.Equal(t, 3, d.Len())
}

// TestOrdersMatchesChunk: reading a chunk again, skipping the indexes
// Transform rejected, gives exactly the orders Transform kept.
func TestOrdersMatchesChunk(t *testing.T) {
	data := append([]byte("\n  \n"), benchChunk(2000)...)
	valid, rejects := Chunk(data, NewDeduper())
	require.NotEmpty(t, valid)
	require.NotEmpty(t, rejects)
	var rejected []int
	for _, r := range rejects {
		rejected = append(rejected, r.Index)
	}
	stale := make([]record.Order, 3, len(valid))
	got, err := Orders(data, rejected, stale)
	require.NoError(t, err)
	assert.Equal(t, orders(valid), got)
	assert.Same(t, &stale[0], &got[0], "the storage of dst is reused")
}

func TestOrdersRefusesARejectedRecord(t *testing.T) {
	data := []byte(order(`"a"`, `1`) + "\n" + order(`"b"`, `-1`) + "\n" + order(`"c"`, `1`))
	got, err := Orders(data, []int{1}, nil)
	require.NoError(t, err)
	assert.Equal(t, []record.Order{cleanOrder("a", "1"), cleanOrder("c", "1")}, got)

	_, err = Orders(data, []int{0}, nil)
	var drift *DriftError
	require.ErrorAs(t, err, &drift)
	assert.Equal(t, &DriftError{Index: 1, RecordID: "b", Reason: record.ReasonNegativeAmount, Detail: `amount "-1" is negative`}, drift)
	assert.EqualError(t, err, `record 1 (id "b") passed the transform but now fails it: negative_amount: amount "-1" is negative`)
}

func TestDuplicate(t *testing.T) {
	raw := []byte(order(`"a"`, `1`))
	r := Duplicate(Valid{Index: 3, Order: cleanOrder("a", "1"), Raw: raw})
	assert.Equal(t, record.Rejected{Index: 3, RecordID: "a", Reason: record.ReasonDuplicateID,
		Detail: `id "a" was already seen in this run`, Raw: string(raw)}, r)
}
