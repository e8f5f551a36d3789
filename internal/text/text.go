// Package text holds the one way blueprint shortens text to a byte limit
// (a Web UI summary, a rejected record's detail, a raw record kept for
// inspection) without splitting a UTF-8 character in two.
//
// It imports nothing of blueprint.
package text

import "unicode/utf8"

// Cut returns the longest prefix of s of at most n bytes that does not end
// inside a UTF-8 character.
func Cut[T string | []byte](s T, n int) T {
	if len(s) <= n {
		return s
	}
	cut := max(n, 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
