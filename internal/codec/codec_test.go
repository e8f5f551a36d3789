package codec_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/blueprint-etl/blueprint/internal/codec"
)

// key returns a deterministic 32-byte test key, base64, from a letter.
func key(c byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{c}, codec.KeySize))
}

func keyring(t *testing.T, spec string) *codec.Keyring {
	t.Helper()
	k, err := codec.ParseKeys(spec)
	require.NoError(t, err)
	return k
}

func TestParseKeys(t *testing.T) {
	k := keyring(t, " k2:"+key('b')+" , k1:"+key('a'))
	assert.Equal(t, "k2", k.PrimaryID())
	assert.Equal(t, []string{"k2", "k1"}, k.IDs())

	secret := key('s')
	tests := []struct{ spec, want string }{
		{"", "BLUEPRINT_ENCRYPTION_KEYS: entry 1 is empty; the format is key-id:base64-key[,key-id:base64-key...]"},
		{"k1:" + secret + ",", "BLUEPRINT_ENCRYPTION_KEYS: entry 2 is empty"},
		{secret, "BLUEPRINT_ENCRYPTION_KEYS: entry 1 has no ':'; the format is key-id:base64-key"},
		{":" + secret, `BLUEPRINT_ENCRYPTION_KEYS: entry 1: key ID "" must be 1 to 64 letters, digits`},
		{"k 1:" + secret, `key ID "k 1" must be 1 to 64 letters`},
		{"-k:" + secret, `key ID "-k" must be`},
		{strings.Repeat("k", 65) + ":" + secret, "must be 1 to 64 letters"},
		{"k1:" + secret + ",k1:" + key('t'), `BLUEPRINT_ENCRYPTION_KEYS: entry 2: key ID "k1" is listed twice`},
		{"k1:not*base64!", `BLUEPRINT_ENCRYPTION_KEYS: entry 1 (key "k1"): the key is not standard base64`},
		{"k1:" + base64.StdEncoding.EncodeToString(make([]byte, 16)), `BLUEPRINT_ENCRYPTION_KEYS: entry 1 (key "k1"): the key is 16 bytes, must be 32 (AES-256; make one with ` + "`openssl rand -base64 32`)"},
		{"k1:" + strings.TrimRight(secret, "="), "the key is not standard base64"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			_, err := codec.ParseKeys(tt.spec)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), secret, "key material is never in a message")
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}

func TestFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	k, err := codec.FromEnv(env(nil))
	require.NoError(t, err)
	assert.Nil(t, k, "unset: encryption off")
	k, err = codec.FromEnv(env(map[string]string{codec.EnvKeys: "  "}))
	require.NoError(t, err)
	assert.Nil(t, k, "blank: encryption off")
	k, err = codec.FromEnv(env(map[string]string{codec.EnvKeys: "a:" + key('a')}))
	require.NoError(t, err)
	assert.Equal(t, "a", k.PrimaryID())
	_, err = codec.FromEnv(env(map[string]string{codec.EnvKeys: "a"}))
	assert.ErrorContains(t, err, "has no ':'")
}

type params struct {
	BatchSize int    `json:"batch_size"`
	SourceURL string `json:"source_url"`
}

func TestDataConverterRoundTrip(t *testing.T) {
	const marker = "file:///srv/marker-2c71.ndjson"
	dc := codec.DataConverter(keyring(t, "k1:"+key('a')))
	p, err := dc.ToPayload(params{BatchSize: 7, SourceURL: marker})
	require.NoError(t, err)
	assert.Equal(t, codec.EncodingEncrypted, string(p.Metadata[converter.MetadataEncoding]))
	assert.Equal(t, "k1", string(p.Metadata[codec.MetadataKeyID]))
	assert.Equal(t, codec.CipherAES256GCM, string(p.Metadata[codec.MetadataCipher]))
	assert.NotContains(t, string(p.Data), "marker-2c71")
	assert.NotContains(t, string(p.Data), "json/plain", "the metadata is encrypted too")

	var got params
	require.NoError(t, dc.FromPayload(p, &got))
	assert.Equal(t, params{BatchSize: 7, SourceURL: marker}, got)

	again, err := dc.ToPayload(params{BatchSize: 7, SourceURL: marker})
	require.NoError(t, err)
	assert.NotEqual(t, p.Data, again.Data, "a fresh nonce for every payload")

	// A raw payload that is already encrypted is not encrypted twice.
	var raw converter.RawValue
	require.NoError(t, dc.FromPayload(p, &raw))
	reencoded, err := codec.New(keyring(t, "k1:"+key('a'))).Encode([]*commonpb.Payload{p})
	require.NoError(t, err)
	assert.Same(t, p, reencoded[0])

	// Plain payloads (a run started without a codec) pass through.
	plain, err := converter.GetDefaultDataConverter().ToPayload(params{BatchSize: 3})
	require.NoError(t, err)
	got = params{}
	require.NoError(t, dc.FromPayload(plain, &got))
	assert.Equal(t, 3, got.BatchSize)
}

// TestRotation: a payload encrypted with the old key still decrypts after a
// new primary key is put first; new payloads use the new key.
func TestRotation(t *testing.T) {
	old := codec.DataConverter(keyring(t, "k1:"+key('a')))
	p, err := old.ToPayload("before the rotation")
	require.NoError(t, err)

	rotated := codec.DataConverter(keyring(t, "k2:"+key('b')+",k1:"+key('a')))
	var s string
	require.NoError(t, rotated.FromPayload(p, &s))
	assert.Equal(t, "before the rotation", s)

	q, err := rotated.ToPayload("after")
	require.NoError(t, err)
	assert.Equal(t, "k2", string(q.Metadata[codec.MetadataKeyID]))

	// Once k1 is dropped, the old payload no longer decrypts; the new does.
	only2 := codec.DataConverter(keyring(t, "k2:"+key('b')))
	require.NoError(t, only2.FromPayload(q, &s))
	assert.Equal(t, "after", s)
	var missing *codec.MissingKeyError
	require.ErrorAs(t, only2.FromPayload(p, &s), &missing)
}

// TestMissingKey: one clear error naming the key, marked to fail the
// workflow task (which the server retries) rather than the run.
func TestMissingKey(t *testing.T) {
	p, err := codec.DataConverter(keyring(t, "k1:"+key('a'))).ToPayload("secret")
	require.NoError(t, err)
	var s string
	err = codec.DataConverter(keyring(t, "k2:"+key('b')+",k3:"+key('c'))).FromPayload(p, &s)
	require.Error(t, err)
	assert.Equal(t, `payload is encrypted with key "k1", which BLUEPRINT_ENCRYPTION_KEYS does not hold (it holds k2, k3): add that key to BLUEPRINT_ENCRYPTION_KEYS to decrypt it`, err.Error())
	var missing *codec.MissingKeyError
	require.ErrorAs(t, err, &missing)
	assert.Equal(t, "k1", missing.KeyID)
	var taskFailure *converter.WorkflowTaskFailureError
	assert.ErrorAs(t, err, &taskFailure)
	assert.Empty(t, s, "nothing is decoded")
}

// TestWrongKeyOrTampered: the same key ID with other key material, or an
// altered payload, is refused; never garbled output.
func TestWrongKeyOrTampered(t *testing.T) {
	dc := codec.DataConverter(keyring(t, "k1:"+key('a')))
	p, err := dc.ToPayload("secret")
	require.NoError(t, err)
	var s string
	err = codec.DataConverter(keyring(t, "k1:"+key('z'))).FromPayload(p, &s)
	require.ErrorIs(t, err, codec.ErrNotDecrypted)
	assert.Contains(t, err.Error(), `payload encrypted with key "k1" does not decrypt`)

	for name, mutate := range map[string]func(*commonpb.Payload){
		"flipped bit":   func(p *commonpb.Payload) { p.Data[len(p.Data)-1] ^= 1 },
		"truncated":     func(p *commonpb.Payload) { p.Data = p.Data[:10] },
		"other key ID":  func(p *commonpb.Payload) { p.Metadata[codec.MetadataKeyID] = []byte("k2") },
		"no key ID":     func(p *commonpb.Payload) { delete(p.Metadata, codec.MetadataKeyID) },
		"other cipher":  func(p *commonpb.Payload) { p.Metadata[codec.MetadataCipher] = []byte("ROT13") },
		"relabelled ID": func(p *commonpb.Payload) { p.Metadata[codec.MetadataKeyID] = []byte("k9") },
	} {
		t.Run(name, func(t *testing.T) {
			q, err := dc.ToPayload("secret")
			require.NoError(t, err)
			mutate(q)
			k := keyring(t, "k1:"+key('a')+",k2:"+key('a'))
			s = ""
			require.Error(t, codec.DataConverter(k).FromPayload(q, &s))
			assert.Empty(t, s)
		})
	}
}
