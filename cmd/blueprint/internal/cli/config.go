package cli

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/internal/codec"
	"github.com/blueprint-etl/blueprint/internal/conn"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/starter"
)

func (a *app) configCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show the effective configuration",
		Long:  `Show the configuration blueprint and its worker use, after flags, environment and files.`,
		Example: `  blueprint config view
  blueprint --profile prod config view -o json`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(a.configViewCommand())
	return cmd
}

// configView is `config view`. It never holds a secret: the API key is
// only said to be set or not, and passwords in URLs are masked.
type configView struct {
	conn.Settings
	Manifest string `json:"manifest"`
	// DatabaseURL is the worker's warehouse ($BLUEPRINT_DATABASE_URL, else
	// the SQLite default), password masked.
	DatabaseURL       string `json:"database_url"`
	DatabaseURLSource string `json:"database_url_source"`
	UIURL             string `json:"ui_url"`
}

func (a *app) configViewCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "view",
		Short: "Show the effective connection, manifest and database settings (secrets hidden)",
		Long: `Show where blueprint connects and what it uses, as resolved from the flags, the
TEMPORAL_* environment variables, the temporal.toml profile and the BLUEPRINT_*
environment variables: server address, namespace, profile, config file, whether
TLS is on and whether an API key is set (never the key), the manifest, the
worker's database URL (password masked), the Web UI address, and whether
payloads are encrypted (the key IDs of BLUEPRINT_ENCRYPTION_KEYS, never the
keys). It does not connect to anything.`,
		Example: `  blueprint config view
  TEMPORAL_ADDRESS=temporal.example.com:7233 blueprint config view -o json`,
		Args: cobra.NoArgs,
		RunE: a.run(func(context.Context, []string) error {
			_, s, err := a.loadSettings()
			if err != nil {
				return err
			}
			// The manifest every other command would read: -f, then
			// $BLUEPRINT_MANIFEST, then ./deployments/deployments.yaml.
			v := configView{Settings: s, Manifest: deployments.Find(a.file), UIURL: strings.TrimRight(os.Getenv("BLUEPRINT_UI_URL"), "/")}
			if v.Manifest == "" {
				v.Manifest = deployments.DefaultPath
			}
			if v.UIURL == "" {
				v.UIURL = starter.DefaultUIURL
			}
			if db := os.Getenv("BLUEPRINT_DATABASE_URL"); db != "" {
				v.DatabaseURL, v.DatabaseURLSource = store.RedactDSN(db), "BLUEPRINT_DATABASE_URL"
			} else {
				v.DatabaseURL, v.DatabaseURLSource = "sqlite:"+store.DefaultSQLitePath, "default"
			}
			if a.json() {
				return a.printJSON(v)
			}
			onOff := map[bool]string{true: "on", false: "off"}
			apiKey := map[bool]string{true: "set (hidden)", false: "not set"}
			f := newFields(a.stdout, "")
			f.add("Address", "%s", v.Address)
			f.add("Namespace", "%s", v.Namespace)
			f.add("Profile", "%s", v.Profile)
			f.add("Config file", "%s", v.ConfigFile)
			f.add("TLS", "%s", onOff[v.TLS])
			f.add("API key", "%s", apiKey[v.APIKeySet])
			f.add("Encryption", "%s", encryptionLine(v.EncryptionKeys))
			f.add("Manifest", "%s", v.Manifest)
			f.add("Database URL", "%s (%s)", v.DatabaseURL, v.DatabaseURLSource)
			f.add("Web UI", "%s", v.UIURL)
			return f.flush()
		}),
	}
}

// encryptionLine says whether payloads are encrypted, and with which keys.
func encryptionLine(ids []string) string {
	switch len(ids) {
	case 0:
		return "off (" + codec.EnvKeys + " not set)"
	case 1:
		return fmt.Sprintf("on, %s, key %s", codec.CipherAES256GCM, ids[0])
	default:
		return fmt.Sprintf("on, %s, key %s (also decrypts %s)", codec.CipherAES256GCM, ids[0], strings.Join(ids[1:], ", "))
	}
}

// Version is blueprint's version, set at build time with
// -ldflags "-X github.com/blueprint-etl/blueprint/cmd/blueprint/internal/cli.Version=v1.2.3".
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print blueprint's version",
		Long:  `Print the version of blueprint, of Go it was built with and of the Temporal Go SDK.`,
		Example: `  blueprint version
  blueprint version -o json`,
		Args: cobra.NoArgs,
		RunE: a.run(func(context.Context, []string) error {
			if a.json() {
				return a.printJSON(map[string]string{"version": version(), "go": runtime.Version(), "temporal_sdk": temporal.SDKVersion})
			}
			fmt.Fprintf(a.stdout, "blueprint %s (%s, Temporal Go SDK %s)\n", version(), runtime.Version(), temporal.SDKVersion)
			return nil
		}),
	}
}
