package pipeline_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/pipeline"
)

func TestParseRejectLimit(t *testing.T) {
	good := []struct{ in, canonical string }{
		{"0", "0"},
		{"10", "10"},
		{"007", "7"},
		{"100000000", "100000000"},
		{"0%", "0%"},
		{"5%", "5%"},
		{"5.0%", "5%"},
		{"0.5%", "0.5%"},
		{"12.25%", "12.25%"},
		{"0.0001%", "0.0001%"},
		{"99.9999%", "99.9999%"},
		{"100%", "100%"},
		{"100.0000%", "100%"},
		{"05%", "5%"},
	}
	for _, c := range good {
		t.Run(c.in, func(t *testing.T) {
			l, err := pipeline.ParseRejectLimit(c.in)
			require.NoError(t, err)
			assert.Equal(t, c.canonical, l.String())
			again, err := pipeline.ParseRejectLimit(l.String())
			require.NoError(t, err)
			assert.Equal(t, l, again, "the canonical form reads back as the same limit")
			assert.False(t, l.IsZero())
		})
	}
	bad := []struct{ name, in string }{
		{"empty", ""},
		{"negative", "-1"},
		{"plus sign", "+5"},
		{"word", "ten"},
		{"fraction of a record", "1.5"},
		{"count above the largest batch", "100000001"},
		{"count out of int64", "99999999999999999999"},
		{"percent above 100", "101%"},
		{"percent just above 100", "100.0001%"},
		{"five decimals", "0.00001%"},
		{"negative percent", "-5%"},
		{"dot without decimals", "5.%"},
		{"decimals without a whole part", ".5%"},
		{"percent sign only", "%"},
		{"two percent signs", "5%%"},
		{"space", "5 %"},
		{"leading space", " 5"},
		{"exponent", "1e3"},
		{"per mille", "5‰"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := pipeline.ParseRejectLimit(c.in)
			require.Error(t, err)
			assert.Equal(t, "must be "+pipeline.MaxRejectedRule, err.Error(), "the message is the rule")
		})
	}
}

// The JSON Schema's pattern says what the parser accepts, no more, no less.
func TestMaxRejectedPatternAgreesWithTheParser(t *testing.T) {
	re := regexp.MustCompile(pipeline.MaxRejectedPattern)
	var values []string
	for _, s := range []string{"", "0", "00", "1", "10", "99999999", "100000000", "100000001", "0100000000", "999999999", "-1", "1.5", "ten", " 1"} {
		values = append(values, s, s+"%")
	}
	for _, whole := range []string{"0", "5", "05", "99", "100", "101", "1000", ""} {
		for _, frac := range []string{"", ".", ".0", ".5", ".0000", ".0001", ".9999", ".00001", ".x"} {
			values = append(values, whole+frac+"%", whole+frac)
		}
	}
	for _, v := range values {
		_, err := pipeline.ParseRejectLimit(v)
		assert.Equal(t, err == nil, re.MatchString(v), "%q: parser accepts = %v", v, err == nil)
	}
}

func TestRejectLimitExceeded(t *testing.T) {
	limit := func(s string) pipeline.RejectLimit {
		t.Helper()
		if s == "" {
			return pipeline.RejectLimit{}
		}
		l, err := pipeline.ParseRejectLimit(s)
		require.NoError(t, err)
		return l
	}
	cases := []struct {
		limit               string
		rejected, extracted int64
		exceeded            bool
	}{
		// The default: only a run that rejected everything, and had
		// something, fails.
		{"", 250, 250, true},
		{"", 249, 250, false},
		{"", 1, 1, true},
		{"", 0, 0, false},
		{"", 0, 5, false},
		// A count: more than n fails, n does not.
		{"10", 10, 250, false},
		{"10", 11, 250, true},
		{"0", 0, 250, false},
		{"0", 1, 250, true},
		{"300", 250, 250, false},
		// A percentage of the extracted records: more than it fails.
		{"5%", 5, 100, false},
		{"5%", 6, 100, true},
		{"5%", 12, 250, false}, // 4.8%
		{"5%", 13, 250, true},  // 5.2%
		{"0.5%", 5, 1000, false},
		{"0.5%", 6, 1000, true},
		{"0.0001%", 1, 1_000_000, false},
		{"0.0001%", 2, 1_000_000, true},
		{"0%", 0, 10, false},
		{"0%", 1, 10, true},
		{"100%", 250, 250, false},
		{"0%", 0, 0, false},
		{"50%", 50_000_000, 100_000_000, false},
		{"50%", 50_000_001, 100_000_000, true},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%q/%d of %d", c.limit, c.rejected, c.extracted), func(t *testing.T) {
			assert.Equal(t, c.exceeded, limit(c.limit).Exceeded(c.rejected, c.extracted))
		})
	}
}

func TestRejectLimitFailureSaysCountsByReason(t *testing.T) {
	reasons := map[string]int64{"missing_id": 50, "invalid_amount": 200}
	assert.Equal(t, "rejected all 250 extracted records (invalid_amount: 200, missing_id: 50); without max_rejected a run fails when it rejects every record; nothing was loaded, the rejected records are kept in rejected_records",
		pipeline.RejectLimit{}.Failure(250, 250, reasons))
	assert.Equal(t, "rejected 11 of 250 extracted records, more than max_rejected=10 (invalid_amount: 11); nothing was loaded, the rejected records are kept in rejected_records",
		pipeline.MaxRejectedCount(10).Failure(11, 250, map[string]int64{"invalid_amount": 11}))
	pct, err := pipeline.ParseRejectLimit("5%")
	require.NoError(t, err)
	assert.Equal(t, "rejected 13 of 250 extracted records (5.2%), more than max_rejected=5% (duplicate_id: 13); nothing was loaded, the rejected records are kept in rejected_records",
		pct.Failure(13, 250, map[string]int64{"duplicate_id": 13}))
	assert.Contains(t, pct.Failure(1, 3, nil), "rejected 1 of 3 extracted records (33.33%), more than max_rejected=5%;")
}

// max_rejected travels as its text; the default is left out, so a run
// started without it has the input it had before the parameter existed.
func TestRejectLimitJSON(t *testing.T) {
	b, err := json.Marshal(pipeline.Params{BatchSize: 10, SourceURL: "demo://orders"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"batch_size":10,"source_url":"demo://orders"}`, string(b))

	pct, err := pipeline.ParseRejectLimit("2.5%")
	require.NoError(t, err)
	for _, l := range []pipeline.RejectLimit{pct, pipeline.MaxRejectedCount(0), pipeline.MaxRejectedCount(7)} {
		p := pipeline.Params{BatchSize: 10, SourceURL: "demo://orders", MaxRejected: l}
		b, err := json.Marshal(p)
		require.NoError(t, err)
		assert.Contains(t, string(b), fmt.Sprintf(`"max_rejected":%q`, l.String()))
		var back pipeline.Params
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, p, back)
		assert.Equal(t, l.String(), p.Object()["max_rejected"])
	}
	var p pipeline.Params
	err = json.Unmarshal([]byte(`{"max_rejected":"lots"}`), &p)
	require.ErrorContains(t, err, "must be "+pipeline.MaxRejectedRule)
}
