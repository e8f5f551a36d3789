// Package conn turns the standard Temporal client configuration (TEMPORAL_*
// environment variables and temporal.toml profiles, read by the SDK's
// envconfig) plus command-line overrides into a connected client, and fails
// fast with a clear message when the server cannot be reached.
//
// It must not import `internal/store`, `internal/source` or a flow.
package conn

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"

	"github.com/blueprint-etl/blueprint/internal/codec"
)

// DefaultAddress and DefaultNamespace apply when neither the environment nor
// a profile names one: a local `temporal server start-dev`.
const (
	DefaultAddress   = "localhost:7233"
	DefaultNamespace = "default"
	// DialTimeout bounds how long a dial waits for an unreachable server.
	DialTimeout = 5 * time.Second
)

// Overrides are the command-line flags that win over environment and file.
type Overrides struct {
	Address   string
	Namespace string
	Profile   string
	// ConfigFile overrides TEMPORAL_CONFIG_FILE.
	ConfigFile string
}

// Settings is the effective connection, for display. It never holds the
// API key itself.
type Settings struct {
	Address    string `json:"address"`
	Namespace  string `json:"namespace"`
	Profile    string `json:"profile"`
	ConfigFile string `json:"config_file"`
	TLS        bool   `json:"tls"`
	APIKeySet  bool   `json:"api_key_set"`
	// EncryptionKeys lists the IDs of BLUEPRINT_ENCRYPTION_KEYS, the one
	// that encrypts first; nil when payloads are not encrypted.
	EncryptionKeys []string `json:"encryption_keys"`
}

// Load reads the client options the way every Temporal tool does and
// applies the overrides on top.
func Load(o Overrides, env envconfig.EnvLookup) (client.Options, Settings, error) {
	if env == nil {
		env = envconfig.EnvLookupOS
	}
	path := o.ConfigFile
	if path == "" {
		path, _ = env.LookupEnv("TEMPORAL_CONFIG_FILE")
	}
	if path == "" {
		path = envconfig.DefaultConfigFilePath()
	}
	profileName := o.Profile
	if profileName == "" {
		profileName, _ = env.LookupEnv("TEMPORAL_PROFILE")
	}
	prof, err := envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{
		ConfigFilePath:    o.ConfigFile,
		ConfigFileProfile: o.Profile,
		EnvLookup:         env,
	})
	if err != nil {
		// Name the file looked in: "profile not found" alone does not say
		// which file, nor that it does not exist.
		where := path
		if _, serr := os.Stat(path); errors.Is(serr, fs.ErrNotExist) {
			where += " (no such file)"
		}
		return client.Options{}, Settings{}, fmt.Errorf("load Temporal client configuration from %s: %w", where, err)
	}
	if o.Address != "" {
		prof.Address = o.Address
	}
	if o.Namespace != "" {
		prof.Namespace = o.Namespace
	}
	if prof.Address == "" {
		prof.Address = DefaultAddress
	}
	if prof.Namespace == "" {
		prof.Namespace = DefaultNamespace
	}
	opts, err := prof.ToClientOptions(envconfig.ToClientOptionsRequest{})
	if err != nil {
		return client.Options{}, Settings{}, fmt.Errorf("temporal client configuration: %w", err)
	}
	keys, err := codec.FromEnv(env.LookupEnv)
	if err != nil {
		return client.Options{}, Settings{}, err
	}
	var ids []string
	if keys != nil {
		opts.DataConverter = codec.DataConverter(keys)
		ids = keys.IDs()
	}
	if profileName == "" {
		profileName = envconfig.DefaultConfigFileProfile
	}
	s := Settings{
		Address:    prof.Address,
		Namespace:  prof.Namespace,
		Profile:    profileName,
		ConfigFile: path,
		TLS:        opts.ConnectionOptions.TLS != nil,
		APIKeySet:  prof.APIKey != "",

		EncryptionKeys: ids,
	}
	return opts, s, nil
}

// DataConverter is the data converter of every client Load configures:
// the SDK's default, with payloads encrypted when BLUEPRINT_ENCRYPTION_KEYS
// is set (read with env; nil: the process environment).
func DataConverter(env envconfig.EnvLookup) (converter.DataConverter, error) {
	if env == nil {
		env = envconfig.EnvLookupOS
	}
	keys, err := codec.FromEnv(env.LookupEnv)
	if err != nil || keys == nil {
		return converter.GetDefaultDataConverter(), err
	}
	return codec.DataConverter(keys), nil
}

// PayloadConverter decodes payloads read back raw from the server (a
// memo, a schedule's action, a history event) the way this process's
// clients encoded them. The SDK client does not hand out its data
// converter, but the converter is a pure function of the environment, so
// this builds the same one. An invalid BLUEPRINT_ENCRYPTION_KEYS never gets
// this far (Load refuses it before a client exists); here it falls back to
// the default converter, which leaves encrypted payloads undecoded.
func PayloadConverter() converter.DataConverter {
	dc, _ := DataConverter(nil)
	return dc
}

// Dial connects and checks the server answers, within DialTimeout. A
// server that cannot be reached gives one clear error, not a hang.
func Dial(ctx context.Context, opts client.Options) (client.Client, error) {
	if opts.Logger == nil {
		opts.Logger = QuietLogger()
	}
	dctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	c, err := client.DialContext(dctx, opts)
	if err != nil {
		if unreachable(dctx, err) {
			return nil, fmt.Errorf("cannot reach the Temporal server at %s (namespace %s): %s; is it running? (start one with `make demo` or `temporal server start-dev`, or set TEMPORAL_ADDRESS): %w",
				opts.HostPort, opts.Namespace, reason(dctx, err), ErrUnreachable)
		}
		return nil, fmt.Errorf("connect to the Temporal server at %s (namespace %s): %w", opts.HostPort, opts.Namespace, err)
	}
	return c, nil
}

// ErrUnreachable is wrapped by Dial's error when no server answered.
var ErrUnreachable = errors.New("server unreachable")

func unreachable(ctx context.Context, err error) bool {
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	return ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &unavailable) || errors.As(err, &deadline)
}

func reason(ctx context.Context, err error) string {
	switch msg := err.Error(); {
	case ctx.Err() != nil:
		return fmt.Sprintf("no answer within %s", DialTimeout)
	case strings.Contains(msg, "connection refused"):
		return "connection refused"
	case strings.Contains(msg, "no such host"):
		return "unknown host"
	default:
		return "unavailable"
	}
}

// QuietLogger logs the SDK's warnings and errors only, to stderr: what a
// command-line tool wants.
func QuietLogger() log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}
