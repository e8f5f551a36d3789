package datapipeline

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/blueprint-etl/blueprint/internal/record"
)

// The bounds of max_rejected: a count up to the largest batch, or a
// percentage with up to percentDecimals decimals (0.0001% is the finest).
const (
	percentDecimals = 4
	// ppmPerPercent converts a percentage to parts per million of the
	// extracted records, the unit the limit is kept in so that the
	// comparison is exact integer arithmetic (workflow code makes it).
	ppmPerPercent = 10_000
	ppmWhole      = 100 * ppmPerPercent
)

// MaxRejectedRule says in words what max_rejected accepts. Every message
// about a bad value and `blueprint flows inspect` show it.
var MaxRejectedRule = fmt.Sprintf("a count of records from 0 to %d, or a percentage of the extracted records from 0%% to 100%% with at most %d decimals, such as 10 or 5%% or 0.5%%",
	MaxBatchSize, percentDecimals)

// MaxRejectedPattern is MaxRejectedRule as a regular expression over the
// text form, for the JSON Schema (editors and forms); the parser is the
// authority (a test checks that they agree).
const MaxRejectedPattern = `^0*([0-9]{1,8}|100000000)$|^0*([0-9]{1,2}(\.[0-9]{1,4})?|100(\.0{1,4})?)%$`

// RejectLimit is DataPipeline's max_rejected parameter: how many of the
// records a run extracted it may reject and still load the others. It is
// a count ("10": more than 10 rejected fails the run) or a percentage of
// the extracted records ("5%": more than 5% fails it). The zero value is
// the default: the run fails only when it rejected every record it
// extracted, and there was at least one.
//
// ParseRejectLimit is its one parser; its text form (MarshalText) is how
// it travels in JSON, in the workflow's input and in the manifest's
// parameters, and the flow's parameter decoding reads an integer as its
// decimal text.
type RejectLimit struct {
	// n is a count, or with percent parts per million of the extracted
	// records.
	n       int64
	percent bool
	set     bool
}

// ParseRejectLimit reads max_rejected's text form: digits for a count,
// digits with up to 4 decimals and a '%' for a percentage. The error's
// message is the rule ("must be ..."), for the caller to put after the
// parameter's name and value.
func ParseRejectLimit(s string) (RejectLimit, error) {
	bad := func() (RejectLimit, error) { return RejectLimit{}, fmt.Errorf("must be %s", MaxRejectedRule) }
	num, percent := strings.CutSuffix(s, "%")
	whole, frac, hasFrac := strings.Cut(num, ".")
	if !digits(whole) || (hasFrac && (!percent || !digits(frac) || len(frac) > percentDecimals)) {
		return bad()
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return bad() // out of range
	}
	if !percent {
		if w > MaxBatchSize {
			return bad()
		}
		return RejectLimit{n: w, set: true}, nil
	}
	if w > 100 {
		return bad()
	}
	ppm := w * ppmPerPercent
	if hasFrac {
		f, _ := strconv.ParseInt(frac+strings.Repeat("0", percentDecimals-len(frac)), 10, 64)
		ppm += f
	}
	if ppm > ppmWhole {
		return bad()
	}
	return RejectLimit{n: ppm, percent: true, set: true}, nil
}

// digits reports whether s is one or more ASCII digits.
func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// MaxRejectedCount is a limit of n rejected records.
func MaxRejectedCount(n int64) RejectLimit { return RejectLimit{n: n, set: true} }

// IsZero reports whether the limit is the default (for JSON's omitzero:
// a run started without max_rejected has the input it had before the
// parameter existed).
func (l RejectLimit) IsZero() bool { return !l.set }

// String is the canonical text form: "10", "5%", "0.25%"; "" for the
// default.
func (l RejectLimit) String() string {
	switch {
	case !l.set:
		return ""
	case !l.percent:
		return strconv.FormatInt(l.n, 10)
	}
	s := strconv.FormatInt(l.n/ppmPerPercent, 10)
	if frac := l.n % ppmPerPercent; frac != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%0*d", percentDecimals, frac), "0")
	}
	return s + "%"
}

// MarshalText writes the canonical text form.
func (l RejectLimit) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads the text form with ParseRejectLimit; "" is the
// default.
func (l *RejectLimit) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*l = RejectLimit{}
		return nil
	}
	v, err := ParseRejectLimit(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// ParamKind names the parameter's type in `blueprint flows inspect` and
// in messages.
func (RejectLimit) ParamKind() string { return "count or percentage" }

// ParamRule is the rule `blueprint flows inspect` shows.
func (RejectLimit) ParamRule() string { return MaxRejectedRule }

// ParamJSONSchema describes the values the parameter accepts: an integer,
// or its text form.
func (RejectLimit) ParamJSONSchema() map[string]any {
	return map[string]any{"type": []string{"integer", "string"}, "minimum": 0, "maximum": MaxBatchSize, "pattern": MaxRejectedPattern}
}

// Exceeded reports whether a run that rejected rejected of the extracted
// records it extracted has more than the limit allows.
func (l RejectLimit) Exceeded(rejected, extracted int64) bool {
	switch {
	case !l.set:
		return extracted > 0 && rejected >= extracted
	case l.percent:
		// rejected/extracted > n/1e6, without division. Both sides stay
		// far below 2^63: counts are bounded by MaxBatchSize (1e8), n by
		// 1e6.
		return rejected*ppmWhole > l.n*extracted
	default:
		return rejected > l.n
	}
}

// Failure says why a run that exceeded the limit failed, with the counts
// by reason: what the run's failure, its log and its notifications say.
func (l RejectLimit) Failure(rejected, extracted int64, reasons map[string]int64) string {
	byReason := ""
	if len(reasons) > 0 {
		byReason = " (" + record.FormatReasons(reasons) + ")"
	}
	const kept = "; nothing was loaded, the rejected records are kept in rejected_records"
	switch {
	case !l.set:
		return fmt.Sprintf("rejected all %d extracted records%s; without max_rejected a run fails when it rejects every record%s", extracted, byReason, kept)
	case l.percent:
		return fmt.Sprintf("rejected %d of %d extracted records (%s), more than max_rejected=%s%s%s", rejected, extracted, percentOf(rejected, extracted), l, byReason, kept)
	default:
		return fmt.Sprintf("rejected %d of %d extracted records, more than max_rejected=%s%s%s", rejected, extracted, l, byReason, kept)
	}
}

// percentOf writes part/whole as a percentage with up to 2 decimals,
// rounded down (the exact counts are beside it).
func percentOf(part, whole int64) string {
	if whole == 0 {
		return "0%"
	}
	hundredths := part * 10_000 / whole
	s := strconv.FormatInt(hundredths/100, 10)
	if frac := hundredths % 100; frac != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%02d", frac), "0")
	}
	return s + "%"
}
