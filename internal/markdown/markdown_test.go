package markdown

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAnchor(t *testing.T) {
	for heading, want := range map[string]string{
		"Why: Prefect concepts on Temporal":        "why-prefect-concepts-on-temporal",
		"A bare `blueprint`":                       "a-bare-blueprint",
		"deployment ls · inspect · pause · resume": "deployment-ls--inspect--pause--resume",
		"blueprint runs ls":                        "blueprint-runs-ls",
		"Performance II: staging (issue 12)":       "performance-ii-staging-issue-12",
		"work_pool & friends":                      "work_pool--friends",
		"  Trimmed ":                               "trimmed",
	} {
		assert.Equal(t, want, Anchor(heading), heading)
	}
}

func TestAnchorsAndLinks(t *testing.T) {
	doc := "# Title\n\nSee [a](#title) and [b](other.md#x), `[not](a-link)`.\n\n" +
		"```sh\n# not a heading\n[no](link.md)\n```\n\n## Title\n\n![pic](img.png \"t\")\n####### seven\n#nospace\n"
	assert.Equal(t, map[string]bool{"title": true, "title-1": true}, Anchors(doc))
	assert.Equal(t, []string{"#title", "other.md#x", "img.png"}, Links(doc))
}
