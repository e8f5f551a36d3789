package flow

import (
	"errors"
	"regexp"
	"time"
)

// dateTimePattern is RFC 3339's date-time as a date-time parameter is
// written: upper-case T and Z, hours 00-23, no leap second (Go has none),
// an offset within a day. time.Parse alone also takes what RFC 3339 does
// not ("T9:00:00Z", "00:00:00,5Z", "+24:00"), and JSON Schema's date-time
// format takes a lower-case t and z: the decoder and the JSON Schema both
// hold a value to this pattern, and time.Parse (format "date-time") checks
// the date.
const dateTimePattern = `^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`

var dateTimeRE = regexp.MustCompile(dateTimePattern)

var errNotDateTime = errors.New("not an RFC 3339 date-time")

// parseDateTime reads a date-time parameter's text.
func parseDateTime(s string) (time.Time, error) {
	if !dateTimeRE.MatchString(s) {
		return time.Time{}, errNotDateTime
	}
	return time.Parse(time.RFC3339Nano, s)
}
