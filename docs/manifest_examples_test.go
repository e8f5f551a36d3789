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
// and datasets.md show (a yaml block that starts with deployments:, or
// with datasets: and has deployments:) as the CLI would: an example a
// reader copies is a manifest blueprint accepts.
func TestManifestExamplesLoad(t *testing.T) {
	for page, least := range map[string]int{"manifest.md": 2, "datasets.md": 1} {
		doc, err := os.ReadFile(page)
		require.NoError(t, err)
		n := 0
		for _, m := range regexp.MustCompile("(?ms)^```yaml\n(.*?)^```\n").FindAllStringSubmatch(string(doc), -1) {
			whole := strings.HasPrefix(m[1], "deployments:\n") ||
				strings.HasPrefix(m[1], "datasets:\n") && strings.Contains(m[1], "\ndeployments:\n")
			if !whole {
				continue // a fragment of a manifest
			}
			n++
			_, err := deployments.Parse(flows.Registry.Flows(), page, []byte(m[1]))
			require.NoError(t, err, "the example of %s:\n%s", page, m[1])
		}
		require.GreaterOrEqual(t, n, least, "%s shows whole manifests", page)
	}
}
