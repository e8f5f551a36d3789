package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// Seed corpora: these f.Add calls and the files under testdata/fuzz run
// with every `go test`; `go test -fuzz=FuzzNDJSON` explores further.

// requireRecords checks the invariants every decoder keeps, whatever its
// input: records are non-empty and newline-free, and an error is a
// *formatError (the inputs are in memory, so nothing else can fail).
func requireRecords(t *testing.T, records [][]byte, err error, mustBeJSON bool) {
	t.Helper()
	if err != nil {
		var fe *formatError
		require.True(t, errors.As(err, &fe), "unexpected error type %T: %v", err, err)
	}
	for _, rec := range records {
		require.NotEmpty(t, rec)
		require.False(t, bytes.ContainsAny(rec, "\n"), "record has a newline: %q", rec)
		if mustBeJSON {
			require.True(t, json.Valid(rec), "record is not valid JSON: %q", rec)
		}
	}
}

func FuzzNDJSON(f *testing.F) {
	for _, s := range []string{"", "\n", "{\"a\":1}\n{\"b\": [1, 2]}\n", "x\r\ny", "  {\"a\"\n:1}  \n\n\"s\"", "[1,\n2]\n\xff\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := newLineDecoder(bytes.NewReader(data), 0)
		first, err := d.next()
		if err != nil {
			return // no records at all
		}
		cursor, err := strconv.ParseInt(d.cursor(), 10, 64)
		require.NoError(t, err)
		rest, _, err := collect(d, -1)
		requireRecords(t, append([][]byte{first}, rest...), err, false)

		// Resuming at the cursor after the first record gives the rest.
		resumed, _, err := collect(newLineDecoder(bytes.NewReader(data[cursor:]), cursor), -1)
		require.NoError(t, err)
		require.Equal(t, len(rest), len(resumed))
		for i := range rest {
			require.Equal(t, rest[i], resumed[i])
		}
	})
}

func FuzzJSONArray(f *testing.F) {
	for _, s := range []string{"[]", `[{"a": 1}, "x\ny", 2.5e3, null, [true]]`, "[1,", "[1 2]", `{"a":1}`, "[1] 2", `["\u2028"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		records, _, err := collect(newArrayDecoder(bytes.NewReader(data)), -1)
		requireRecords(t, records, err, true)
		if err == nil && json.Valid(data) {
			var want []json.RawMessage
			require.NoError(t, json.Unmarshal(data, &want))
			require.Len(t, records, len(want))
		}
	})
}

func FuzzCSV(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "\ufeffid\n\"x\ny\"\n", "a\n1,2,3\n\n", "a,\"b\n1", "a,b\n\"q\"\"\",\xff\x01\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := newCSVDecoder(bytes.NewReader(data), 0)
		if err != nil {
			requireRecords(t, nil, err, true)
			return
		}
		records, _, err := collect(d, -1)
		requireRecords(t, records, err, true)
		for _, rec := range records {
			require.Equal(t, byte('{'), rec[0], "a CSV row is an object: %q", rec)
		}
	})
}

func FuzzHTTPBody(f *testing.F) {
	for _, s := range []string{`[1,2]`, `{"data":[{"a":1}],"next":"/p2"}`, "{\"a\":1}\n{\"b\":2}", `{"items":null}`, "x\ny", `{"results":[1,}`} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("[1]\n{\"a\":1}\n"), true)
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		mediaType := "application/json"
		if ndjson {
			mediaType = "application/x-ndjson"
		}
		records, err := decodeBody(body, mediaType)
		requireRecords(t, records, err, false)
	})
}
