package conn_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/conn"
)

// env is an environment made of a map, so tests never see the machine's.
type env map[string]string

func (e env) LookupEnv(k string) (string, bool) { v, ok := e[k]; return v, ok }
func (e env) Environ() []string {
	var out []string
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}

const fakeKey = "sk-test-DO-NOT-PRINT-0123456789"

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	toml := filepath.Join(dir, "temporal.toml")
	require.NoError(t, os.WriteFile(toml, []byte(`
[profile.default]
address = "file-host:7233"
namespace = "file-ns"

[profile.cloud]
address = "ns.acct.tmprl.cloud:7233"
namespace = "ns.acct"
api_key = "`+fakeKey+`"
`), 0o600))
	none := filepath.Join(dir, "absent.toml")

	for _, tc := range []struct {
		name string
		env  env
		over conn.Overrides
		want conn.Settings
	}{
		{"defaults", env{"TEMPORAL_CONFIG_FILE": none}, conn.Overrides{},
			conn.Settings{Address: "localhost:7233", Namespace: "default", Profile: "default", ConfigFile: none}},
		{"environment", env{"TEMPORAL_CONFIG_FILE": none, "TEMPORAL_ADDRESS": "env-host:7233", "TEMPORAL_NAMESPACE": "env-ns"}, conn.Overrides{},
			conn.Settings{Address: "env-host:7233", Namespace: "env-ns", Profile: "default", ConfigFile: none}},
		{"flags win over environment", env{"TEMPORAL_CONFIG_FILE": none, "TEMPORAL_ADDRESS": "env-host:7233"}, conn.Overrides{Address: "flag-host:1", Namespace: "flag-ns"},
			conn.Settings{Address: "flag-host:1", Namespace: "flag-ns", Profile: "default", ConfigFile: none}},
		{"default profile from file", env{"TEMPORAL_CONFIG_FILE": toml}, conn.Overrides{},
			conn.Settings{Address: "file-host:7233", Namespace: "file-ns", Profile: "default", ConfigFile: toml}},
		{"environment wins over file", env{"TEMPORAL_CONFIG_FILE": toml, "TEMPORAL_NAMESPACE": "env-ns"}, conn.Overrides{},
			conn.Settings{Address: "file-host:7233", Namespace: "env-ns", Profile: "default", ConfigFile: toml}},
		{"API key profile turns TLS on", env{}, conn.Overrides{ConfigFile: toml, Profile: "cloud"},
			conn.Settings{Address: "ns.acct.tmprl.cloud:7233", Namespace: "ns.acct", Profile: "cloud", ConfigFile: toml, TLS: true, APIKeySet: true}},
		{"API key from the environment", env{"TEMPORAL_CONFIG_FILE": none, "TEMPORAL_API_KEY": fakeKey}, conn.Overrides{},
			conn.Settings{Address: "localhost:7233", Namespace: "default", Profile: "default", ConfigFile: none, TLS: true, APIKeySet: true}},
		{"API key with TLS disabled", env{"TEMPORAL_CONFIG_FILE": none, "TEMPORAL_API_KEY": fakeKey, "TEMPORAL_TLS": "false"}, conn.Overrides{},
			conn.Settings{Address: "localhost:7233", Namespace: "default", Profile: "default", ConfigFile: none, APIKeySet: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, got, err := conn.Load(tc.over, tc.env)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, got.Address, opts.HostPort)
			require.Equal(t, got.Namespace, opts.Namespace)
			require.Equal(t, got.APIKeySet, opts.Credentials != nil, "the API key becomes client credentials")
			b, err := json.Marshal(got)
			require.NoError(t, err)
			require.NotContains(t, string(b), fakeKey, "Settings never hold the key")
		})
	}
}

func TestLoadRejectsMissingProfile(t *testing.T) {
	absent := filepath.Join(t.TempDir(), "absent.toml")
	_, _, err := conn.Load(conn.Overrides{Profile: "nope", ConfigFile: absent}, env{})
	require.ErrorContains(t, err, "nope")
	require.ErrorContains(t, err, "from "+absent+" (no such file)", "names the file it looked in")

	present := filepath.Join(t.TempDir(), "temporal.toml")
	require.NoError(t, os.WriteFile(present, []byte("[profile.default]\naddress = \"x:7233\"\n"), 0o600))
	_, _, err = conn.Load(conn.Overrides{}, env{"TEMPORAL_CONFIG_FILE": present, "TEMPORAL_PROFILE": "prod"})
	require.ErrorContains(t, err, "from "+present+": ")
	require.ErrorContains(t, err, "prod")
}

func TestDialUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	opts, _, err := conn.Load(conn.Overrides{Address: addr, ConfigFile: filepath.Join(t.TempDir(), "absent.toml")}, env{})
	require.NoError(t, err)
	_, err = conn.Dial(context.Background(), opts)
	require.ErrorIs(t, err, conn.ErrUnreachable)
	require.ErrorContains(t, err, "cannot reach the Temporal server at "+addr)
}

// TestLoadEncryption: BLUEPRINT_ENCRYPTION_KEYS gives every client the
// encrypting data converter; without it the SDK's default stays; a bad
// list is an error naming the rule, never the key.
func TestLoadEncryption(t *testing.T) {
	const key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes
	opts, s, err := conn.Load(conn.Overrides{}, env{})
	require.NoError(t, err)
	assert.Nil(t, opts.DataConverter, "no keys: the SDK's default converter")
	assert.Nil(t, s.EncryptionKeys)

	opts, s, err = conn.Load(conn.Overrides{}, env{"BLUEPRINT_ENCRYPTION_KEYS": "new:" + key + ",old:" + key})
	require.NoError(t, err)
	assert.Equal(t, []string{"new", "old"}, s.EncryptionKeys)
	require.NotNil(t, opts.DataConverter)
	p, err := opts.DataConverter.ToPayload("x")
	require.NoError(t, err)
	assert.Equal(t, "binary/encrypted", string(p.GetMetadata()["encoding"]))
	assert.Equal(t, "new", string(p.GetMetadata()["encryption-key-id"]))

	// PayloadConverter reads back what such a client wrote.
	t.Setenv("BLUEPRINT_ENCRYPTION_KEYS", "new:"+key)
	var got string
	require.NoError(t, conn.PayloadConverter().FromPayload(p, &got))
	assert.Equal(t, "x", got)

	_, _, err = conn.Load(conn.Overrides{}, env{"BLUEPRINT_ENCRYPTION_KEYS": "k1:" + key[:20]})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `BLUEPRINT_ENCRYPTION_KEYS: entry 1 (key "k1")`)
	assert.NotContains(t, err.Error(), key[:20])
}
