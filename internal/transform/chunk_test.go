package transform

import (
	"encoding/json"
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

// cleanLine is what order(id, amount) becomes in Chunk's output.
func cleanLine(id, amount string) string {
	return fmt.Sprintf(`{"id":%q,"customer_email":"a@example.com","category":"books","amount":%q,"currency":"EUR","timestamp":"2024-03-01T09:00:00Z"}`, id, amount) + "\n"
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

	clean, nValid, rejects := Chunk(data, NewDeduper())

	assert.Equal(t, cleanLine("a", "1.5")+cleanLine("b", "3")+cleanLine("7", "4")+cleanLine("d", "7"), string(clean))
	assert.Equal(t, 4, nValid)
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
	_, nValid, rejects := Chunk([]byte(order(`"a"`, `1`)+"\n"+order(`"b"`, `1`)), d)
	require.Equal(t, 2, nValid)
	require.Empty(t, rejects)
	assert.Equal(t, 2, d.Len())

	clean, nValid, rejects := Chunk([]byte(order(`"b"`, `2`)+"\n"+order(`"c"`, `2`)+"\n"), d)
	assert.Equal(t, cleanLine("c", "2"), string(clean))
	assert.Equal(t, 1, nValid)
	require.Len(t, rejects, 1)
	assert.Equal(t, record.ReasonDuplicateID, rejects[0].Reason)
	assert.Equal(t, 0, rejects[0].Index, "index counts within its own chunk")
	assert.Equal(t, 3, d.Len())
}

func TestChunkWithoutDeduper(t *testing.T) {
	clean, nValid, rejects := Chunk([]byte(order(`"a"`, `1`)+"\n"+order(`"a"`, `1`)), nil)
	assert.Equal(t, cleanLine("a", "1")+cleanLine("a", "1"), string(clean))
	assert.Equal(t, 2, nValid)
	assert.Empty(t, rejects)
}

func TestChunkEmpty(t *testing.T) {
	for _, data := range []string{"", "\n", "\n\n  \n\r\n"} {
		clean, nValid, rejects := Chunk([]byte(data), NewDeduper())
		assert.Empty(t, clean)
		assert.Zero(t, nValid)
		assert.Empty(t, rejects)
	}
}

func TestChunkTruncatesRaw(t *testing.T) {
	// A rejected record of 3-byte characters: 4096 is not a multiple of 3,
	// so a byte cut would split one.
	raw := `{"id":"x","customer_email":"` + strings.Repeat("€", 5000) + `"}`
	_, _, rejects := Chunk([]byte(raw), NewDeduper())
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

func TestDecodeOrdersRoundTrip(t *testing.T) {
	data := benchChunk(2000)
	clean, nValid, _ := Chunk(data, NewDeduper())
	require.Positive(t, nValid)

	// What Normalize said about each valid line, in order.
	var want []record.Order
	seen := NewDeduper()
	for line := range strings.SplitSeq(string(data), "\n") {
		if o, reason, _ := Normalize([]byte(line)); reason == "" && !seen.Seen(o.ID) {
			want = append(want, o)
		}
	}
	require.Len(t, want, nValid)

	got, err := DecodeOrders(clean, nil)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	for i := range got {
		require.True(t, want[i].Timestamp.Equal(got[i].Timestamp))
		require.Equal(t, want[i].Hash(), got[i].Hash(), "hash survives the round trip")
	}
}

func TestDecodeOrdersReusesStorage(t *testing.T) {
	stale := make([]record.Order, 3, 10)
	for i := range stale {
		stale[i] = record.Order{ID: "stale", Category: "stale", Amount: "9", Timestamp: time.Unix(1, 0)}
	}
	// The second record lacks fields: they must come out empty, not stale.
	clean := cleanLine("a", "1") + `{"id":"b"}` + "\n"
	got, err := DecodeOrders([]byte(clean), stale)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Same(t, &stale[0], &got[0], "the storage of dst is reused")
	assert.Equal(t, record.Order{ID: "b"}, got[1])
	assert.Equal(t, "books", got[0].Category)
}

func TestDecodeOrdersErrors(t *testing.T) {
	good := cleanLine("a", "1")
	tests := []struct {
		name, clean, msg string
	}{
		{"not JSON", good + "nope\n", "line 2"},
		{"unknown field", good + "\n" + `{"id":"b","colour":"red"}` + "\n", `line 3: json: unknown field "colour"`},
		{"wrong type", `{"id":1}`, "line 1"},
		{"bad timestamp", `{"id":"a","timestamp":"soon"}`, "line 1"},
		{"two values on a line", strings.TrimSuffix(good, "\n") + good, "line 1: data after the object"},
		{"stray brace", strings.TrimSuffix(good, "\n") + "}\n", "line 1: data after the object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeOrders([]byte(tt.clean), nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.msg)
			for _, o := range got {
				assert.Equal(t, "a", o.ID, "only the lines before the bad one are returned")
			}
		})
	}
}

func TestDecodeOrdersEmpty(t *testing.T) {
	got, err := DecodeOrders(nil, nil)
	require.NoError(t, err)
	assert.Empty(t, got)
	got, err = DecodeOrders([]byte("\n \n"), make([]record.Order, 2))
	require.NoError(t, err)
	assert.Empty(t, got)
}

// TestAppendOrderMatchesEncodingJSON pins AppendOrder to encoding/json's
// output, escapes and all, so either can read what the other wrote.
func TestAppendOrderMatchesEncodingJSON(t *testing.T) {
	strs := []string{
		"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnl\ncr\rbs\bff\f",
		"\x00\x01\x1f\x7f", "line\u2028sep\u2029", "bad \xff utf8 \xe2\x82", "ünïcödé ✓ 😀", "\ufffd",
	}
	times := []time.Time{
		{},
		utc(2024, 3, 1, 10, 0, 0, 0),
		utc(2024, 3, 1, 10, 0, 0, 120_000_000),
		utc(1970, 1, 1, 0, 0, 0, 1),
		time.Date(2024, 3, 1, 10, 0, 0, 0, time.FixedZone("x", 3600)),
	}
	for i, s := range strs {
		o := record.Order{ID: s, CustomerEmail: s + "@x", Category: s, Amount: "1.5", Currency: s, Timestamp: times[i%len(times)]}
		want, err := json.Marshal(o)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(AppendOrder(nil, o)), "order %d", i)
	}
	b := AppendOrder([]byte("prefix "), validOrder)
	assert.True(t, strings.HasPrefix(string(b), `prefix {"id":"ord-1",`), "appends")
}
