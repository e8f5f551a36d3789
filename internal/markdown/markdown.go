// Package markdown reads the project's Markdown as GitHub renders it: the
// anchors its headings get and the links its text makes. The CLI reference
// generator uses it to link its own headings, and the docs test to check
// that every relative link and anchor of README.md and docs/ resolves. It
// imports nothing of blueprint.
package markdown

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Anchor is the fragment GitHub gives a heading: lower case, letters,
// digits, hyphens and underscores kept, spaces turned into hyphens, every
// other character (punctuation, backticks, "·") dropped.
func Anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Anchors lists the anchors of a document's headings, with GitHub's "-1",
// "-2" suffixes for repeated ones. Headings inside code fences do not count.
func Anchors(doc string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, line := range prose(doc) {
		t := strings.TrimLeft(line, "#")
		if len(t) == len(line) || len(line)-len(t) > 6 || !strings.HasPrefix(t, " ") {
			continue
		}
		a := Anchor(t)
		if n := seen[a]; n > 0 {
			out[a+"-"+strconv.Itoa(n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

// linkPattern finds inline links and images: [text](target) and
// ![alt](target), with an optional "title".
var linkPattern = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

// inlineCode is a code span, whose brackets are not links.
var inlineCode = regexp.MustCompile("`[^`]*`")

// Links lists the targets of a document's inline links, outside code fences
// and code spans, in order.
func Links(doc string) []string {
	var out []string
	for _, line := range prose(doc) {
		line = inlineCode.ReplaceAllString(line, "")
		for _, m := range linkPattern.FindAllStringSubmatch(line, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// prose returns the lines of doc that are not inside a fenced code block.
func prose(doc string) []string {
	var out []string
	fence := ""
	for _, line := range strings.Split(doc, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case fence != "":
			if strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" {
				fence = ""
			}
		case strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~"):
			fence = t[:3]
			for len(fence) < len(t) && t[len(fence)] == fence[0] {
				fence += fence[:1]
			}
		default:
			out = append(out, line)
		}
	}
	return out
}
