// Package suggest finds what a user most likely meant by a name that does
// not exist: the one way every blueprint error says "did you mean".
//
// It imports nothing of blueprint.
package suggest

import (
	"fmt"
	"strings"
)

// DidYouMean returns "; did you mean "X"?" for the candidate nearest to
// name, or "" when none is near. Nearest is the smallest edit distance (a
// typo: batchsize, sorce_url), or else a candidate the name is part of (a
// shorthand: source, batch). Case is ignored.
func DidYouMean(name string, candidates []string) string {
	lower := strings.ToLower(name)
	best, bestD := "", -1
	for _, c := range candidates {
		if d := Distance(lower, strings.ToLower(c)); bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD >= 0 && bestD <= max(2, len(name)/3) {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	if len(lower) >= 3 {
		for _, c := range candidates {
			if strings.Contains(strings.ToLower(c), lower) {
				return fmt.Sprintf("; did you mean %q?", c)
			}
		}
	}
	return ""
}

// Distance is the Levenshtein edit distance between a and b, in bytes.
// Inputs longer than 256 bytes are not compared: their distance is the
// longer length, which keeps hostile input cheap.
func Distance(a, b string) int {
	if len(a) > 256 || len(b) > 256 {
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
