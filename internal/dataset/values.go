package dataset

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/blueprint-etl/blueprint/internal/record"
)

// This file holds the value rules that orders' Transform (internal/transform)
// and a dataset's normaliser share, so each has one owner: what an email
// address is, how a decimal is read exactly, which timestamp forms are read.

// CheckEmail says what makes an address implausible, or "" when it is
// plausible: local@domain.tld with no spaces, no display name, no comments,
// no quoting, within RFC 5321's lengths. It is deliberately stricter than
// RFC 5322 (which net/mail.ParseAddress implements, comments and all)
// because a stored address has to be one a mail server would accept as is.
// s is expected trimmed and lower-cased already.
func CheckEmail(s string) string {
	if s == "" {
		return "is empty"
	}
	if len(s) > record.MaxEmailLen {
		return fmt.Sprintf("is longer than %d bytes", record.MaxEmailLen)
	}
	at := strings.IndexByte(s, '@')
	if at < 0 {
		return "has no @"
	}
	if strings.IndexByte(s[at+1:], '@') >= 0 {
		return "has more than one @"
	}
	local, domain := s[:at], s[at+1:]
	if local == "" {
		return "has an empty local part"
	}
	if len(local) > record.MaxEmailLocalLen {
		return fmt.Sprintf("has a local part longer than %d bytes", record.MaxEmailLocalLen)
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !emailSuspect[c] {
			continue
		}
		switch {
		case c >= utf8.RuneSelf:
			ascii = false
		case c <= ' ' || c == 0x7f:
			return "contains spaces or control characters"
		default:
			return fmt.Sprintf("contains %q", c)
		}
	}
	for _, r := range s {
		if ascii {
			break
		}
		if r == utf8.RuneError {
			return "is not valid UTF-8"
		}
		if r >= utf8.RuneSelf && (unicode.IsSpace(r) || unicode.IsControl(r)) {
			return "contains spaces or control characters"
		}
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return "has a misplaced dot in the local part"
	}
	if !strings.Contains(domain, ".") {
		return "has no dot in the domain"
	}
	if strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "has an empty domain label"
	}
	return ""
}

// emailSuspect marks the bytes CheckEmail looks at twice: spaces and
// control characters, the specials of RFC 5322 (which only quoting would
// allow), and the bytes of non-ASCII characters. A table, because an
// address's every byte passes through it on Transform's hot path.
var emailSuspect = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c <= ' ' || c == 0x7f || c >= utf8.RuneSelf || strings.IndexByte(`"(),:;<>[\]`, byte(c)) >= 0
	}
	return t
}()

// Dec is an exact decimal number, as ParseDecimal reads it: never
// through float64, so no digit is rounded.
type Dec struct {
	// Negative is false for any zero ("-0" is 0).
	Negative bool
	// Int holds the integer digits without leading zeros ("" when the
	// value is below 1); Frac the fraction digits without trailing zeros.
	Int, Frac string
}

// String is the canonical form: "0012.50" -> "12.5", "3.000" -> "3",
// "-0.0" -> "0".
func (d Dec) String() string {
	if d.Int == "" && d.Frac == "" {
		return "0"
	}
	var b strings.Builder
	b.Grow(len(d.Int) + len(d.Frac) + 3)
	if d.Negative {
		b.WriteByte('-')
	}
	if d.Int == "" {
		b.WriteByte('0')
	} else {
		b.WriteString(d.Int)
	}
	if d.Frac != "" {
		b.WriteByte('.')
		b.WriteString(d.Frac)
	}
	return b.String()
}

// Cmp compares d and e: -1, 0 or +1.
func (d Dec) Cmp(e Dec) int {
	switch {
	case d.Negative && !e.Negative:
		return -1
	case !d.Negative && e.Negative:
		return 1
	}
	c := cmpMagnitude(d, e)
	if d.Negative {
		return -c
	}
	return c
}

// cmpMagnitude compares |d| and |e|.
func cmpMagnitude(d, e Dec) int {
	if len(d.Int) != len(e.Int) {
		if len(d.Int) < len(e.Int) {
			return -1
		}
		return 1
	}
	if c := strings.Compare(d.Int, e.Int); c != 0 {
		return c
	}
	return strings.Compare(d.Frac, e.Frac) // no trailing zeros: text order is value order
}

// ParseDecimal reads [+-]digits[.digits] exactly; problem says what is
// wrong otherwise ("is empty", "uses an exponent; write it as a plain
// decimal", ...), to follow the quoted value in a message. Exponents are
// the caller's business: orders refuses them, a dataset's decimal field
// expands them (see Normalize).
func ParseDecimal(s string) (d Dec, problem string) {
	rest := s
	if rest != "" && (rest[0] == '+' || rest[0] == '-') {
		d.Negative = rest[0] == '-'
		rest = rest[1:]
	}
	intEnd := digitsEnd(rest)
	intPart, rest := rest[:intEnd], rest[intEnd:]
	var fracPart string
	if rest != "" && rest[0] == '.' {
		fracEnd := digitsEnd(rest[1:])
		fracPart, rest = rest[1:1+fracEnd], rest[1+fracEnd:]
		if fracPart == "" {
			return Dec{}, "has no digits after the decimal point"
		}
	}
	switch {
	case s == "":
		return Dec{}, "is empty"
	case rest != "" && (rest[0] == 'e' || rest[0] == 'E'):
		return Dec{}, "uses an exponent; write it as a plain decimal"
	case rest != "":
		return Dec{}, "is not a decimal number"
	case intPart == "":
		return Dec{}, "has no digits before the decimal point"
	}
	d.Int = strings.TrimLeft(intPart, "0")
	d.Frac = strings.TrimRight(fracPart, "0")
	if d.Int == "" && d.Frac == "" {
		d.Negative = false
	}
	return d, ""
}

// digitsEnd returns the length of the run of ASCII digits s starts with.
func digitsEnd(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// Timestamp layouts read besides RFC 3339; both are read as UTC. When
// parsing, time.Parse also accepts fractional seconds after the seconds.
const (
	layoutNoZoneT     = "2006-01-02T15:04:05"
	layoutNoZoneSpace = "2006-01-02 15:04:05"
)

// ParseTimestamp reads the timestamp forms orders and every dataset
// accept: RFC 3339 with any offset, or without an offset (read as UTC)
// with 'T' or a space between date and time; fractional seconds optional.
// The result keeps the offset it was written with: callers convert to UTC
// and bound the year.
func ParseTimestamp(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err == nil {
		return t, nil
	}
	if t, err2 := time.Parse(layoutNoZoneT, s); err2 == nil {
		return t, nil
	}
	if t, err2 := time.Parse(layoutNoZoneSpace, s); err2 == nil {
		return t, nil
	}
	return time.Time{}, err
}
