package deployments

import (
	"os"
	"path/filepath"

	"github.com/blueprint-etl/blueprint/internal/flow"
)

// ManifestEnv names a manifest file for every command, below -f.
const ManifestEnv = "BLUEPRINT_MANIFEST"

// LocalPath is where a command looks for the manifest, relative to its
// working directory, when neither -f nor $BLUEPRINT_MANIFEST names one.
var LocalPath = filepath.Join("deployments", "deployments.yaml")

// Find picks the manifest a command reads, as Prefect reads ./prefect.yaml:
// the file named by flag (-f), else $BLUEPRINT_MANIFEST, else
// ./deployments/deployments.yaml when it exists, else "" for the copy
// built into the binary. Editing the file on disk therefore takes effect
// at once, with no rebuild.
func Find(flag string) string {
	if flag != "" {
		return flag
	}
	if p := os.Getenv(ManifestEnv); p != "" {
		return p
	}
	if fi, err := os.Stat(LocalPath); err == nil && !fi.IsDir() {
		return LocalPath
	}
	return ""
}

// LoadFound loads the manifest Find picks, of the flows of reg.
func LoadFound(reg *flow.Registry, flag string) (*Manifest, error) { return Load(reg, Find(flag)) }
