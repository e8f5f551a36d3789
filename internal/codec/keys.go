// Package codec encrypts Temporal payloads: the AES-256-GCM payload codec
// that clients and workers use when BLUEPRINT_ENCRYPTION_KEYS is set, the
// data converter built on it, and the HTTP handler of the codec server
// protocol (POST .../encode and .../decode) that lets the Web UI and the
// Temporal CLI show decrypted payloads to the people allowed to see them.
//
// Without the variable nothing is encrypted and nothing changes: FromEnv
// returns no key ring and callers keep the SDK's default data converter.
//
// It imports nothing of blueprint.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// EnvKeys names the environment variable that holds the keys:
// comma-separated key-id:base64-key pairs, each key 32 bytes
// (`openssl rand -base64 32`). The first key encrypts; every key listed
// decrypts, which is how a key is rotated: put the new key first and keep
// the old one until no payload that needs it is read any more.
const EnvKeys = "BLUEPRINT_ENCRYPTION_KEYS"

// KeySize is the size of an AES-256 key.
const KeySize = 32

// keyIDPattern is what a key ID may look like. Key IDs are stored in plain
// text in the metadata of every encrypted payload, so they name a key and
// say nothing about it.
var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Keyring holds the keys of BLUEPRINT_ENCRYPTION_KEYS.
type Keyring struct {
	ids   []string // in the order given; ids[0] encrypts
	aeads map[string]cipher.AEAD
}

// ParseKeys reads a key list in the BLUEPRINT_ENCRYPTION_KEYS format. Its
// errors name the entry (by position and ID) and the rule it breaks, never
// the key material.
func ParseKeys(spec string) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		pos := fmt.Sprintf("%s: entry %d", EnvKeys, i+1)
		if entry == "" {
			return nil, fmt.Errorf("%s is empty; the format is key-id:base64-key[,key-id:base64-key...]", pos)
		}
		id, b64, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, fmt.Errorf("%s has no ':'; the format is key-id:base64-key", pos)
		}
		if !keyIDPattern.MatchString(id) {
			return nil, fmt.Errorf("%s: key ID %q must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", pos, id)
		}
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("%s: key ID %q is listed twice", pos, id)
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("%s (key %q): the key is not standard base64", pos, id)
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("%s (key %q): the key is %d bytes, must be %d (AES-256; make one with `openssl rand -base64 32`)", pos, id, len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("%s (key %q): %w", pos, id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%s (key %q): %w", pos, id, err)
		}
		k.ids = append(k.ids, id)
		k.aeads[id] = aead
	}
	return k, nil
}

// FromEnv reads BLUEPRINT_ENCRYPTION_KEYS with lookup (os.LookupEnv, or a
// test's map). Unset or blank, it returns nil and no error: encryption is
// off.
func FromEnv(lookup func(string) (string, bool)) (*Keyring, error) {
	v, ok := lookup(EnvKeys)
	if !ok || strings.TrimSpace(v) == "" {
		return nil, nil
	}
	return ParseKeys(v)
}

// PrimaryID is the ID of the key that encrypts.
func (k *Keyring) PrimaryID() string { return k.ids[0] }

// IDs lists the key IDs, the primary first.
func (k *Keyring) IDs() []string { return append([]string(nil), k.ids...) }

// MissingKeyError says a payload was encrypted with a key this process
// does not hold. A worker fails the workflow task with it (the server
// retries the task, so deploying the key lets the run go on) rather than
// reading garbage.
type MissingKeyError struct {
	KeyID string
	Held  []string
}

func (e *MissingKeyError) Error() string {
	return fmt.Sprintf("payload is encrypted with key %q, which %s does not hold (it holds %s): add that key to %s to decrypt it",
		e.KeyID, EnvKeys, strings.Join(e.Held, ", "), EnvKeys)
}

// ErrNotDecrypted is wrapped by the error of a payload whose key is held
// but does not open it: the key with that ID differs from the one that
// encrypted it, or the payload was altered.
var ErrNotDecrypted = errors.New("does not decrypt")
