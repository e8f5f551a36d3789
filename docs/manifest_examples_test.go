package docs

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
)

// TestManifestExamplesLoad loads every whole manifest that manifest.md
// shows (a yaml block that starts with deployments:) as the CLI would:
// an example a reader copies is a manifest blueprint accepts.
func TestManifestExamplesLoad(t *testing.T) {
	doc, err := os.ReadFile("manifest.md")
	require.NoError(t, err)
	n := 0
	for _, m := range regexp.MustCompile("(?ms)^```yaml\n(.*?)^```\n").FindAllStringSubmatch(string(doc), -1) {
		if !strings.HasPrefix(m[1], "deployments:\n") {
			continue // a fragment of a deployment
		}
		n++
		_, err := deployments.Parse(flows.Registry.Flows(), "manifest.md", []byte(m[1]))
		require.NoError(t, err, "the example:\n%s", m[1])
	}
	require.GreaterOrEqual(t, n, 2, "manifest.md shows whole manifests")
}
