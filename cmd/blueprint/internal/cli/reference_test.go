package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/cmd/blueprint/internal/cli"
)

// TestReferenceIsCurrent fails when docs/cli.md is not what `make docs`
// writes from the commands today: a flag, an example or a description was
// changed without regenerating the reference.
func TestReferenceIsCurrent(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, cli.WriteReference(&b))
	checkedIn, err := os.ReadFile(filepath.Join("..", "..", "..", "..", cli.ReferencePath))
	require.NoError(t, err)
	require.True(t, bytes.Equal(checkedIn, b.Bytes()),
		"%s is out of date with the commands: run `make docs` and commit it", cli.ReferencePath)
}
