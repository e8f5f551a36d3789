package codec

import (
	"crypto/rand"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// Payload metadata of an encrypted payload. The encoding and the key ID
// are what the samples of temporalio/samples-go use, so that tools written
// for them recognise blueprint's payloads as encrypted.
const (
	// EncodingEncrypted is the "encoding" of an encrypted payload.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID names the key that encrypted a payload.
	MetadataKeyID = "encryption-key-id"
	// MetadataCipher names the cipher, for whoever reads a history later.
	MetadataCipher = "encryption-cipher"
	// CipherAES256GCM is the only cipher: AES-256 in GCM mode, a random
	// 96-bit nonce per payload, the key ID as additional data.
	CipherAES256GCM = "AES-256-GCM"
)

// Codec is a converter.PayloadCodec that encrypts each payload whole (its
// metadata and its data) with the primary key, and decrypts with the key
// the payload names.
type Codec struct{ keys *Keyring }

var _ converter.PayloadCodec = (*Codec)(nil)

// New returns the codec for a key ring.
func New(keys *Keyring) *Codec { return &Codec{keys: keys} }

// DataConverter is the SDK's default data converter with payloads
// encrypted by keys: what clients and workers use when encryption is on.
func DataConverter(keys *Keyring) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), New(keys))
}

// Encode encrypts every payload that is not encrypted already. A payload
// that is (an input passed on as it was read, to start a run again) is
// left as it is: encrypting it twice would leave readers that decode once
// with ciphertext.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	id := c.keys.PrimaryID()
	aead := c.keys.aeads[id]
	for i, p := range payloads {
		if isEncrypted(p) {
			out[i] = p
			continue
		}
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encrypt payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("encrypt payload: nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              []byte(id),
				MetadataCipher:             []byte(CipherAES256GCM),
			},
			Data: aead.Seal(nonce, nonce, plain, []byte(id)),
		}
	}
	return out, nil
}

// Decode decrypts every encrypted payload and passes the others through
// (a run started by hand from the Web UI without a codec has plain input).
// A payload whose key is not held fails with a *MissingKeyError; wrapped
// in converter.NewWorkflowTaskFailureError, so that in a worker it fails
// the workflow task, which the server retries, instead of the run.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if !isEncrypted(p) {
			out[i] = p
			continue
		}
		d, err := c.decrypt(p)
		if err != nil {
			return nil, converter.NewWorkflowTaskFailureError(err)
		}
		out[i] = d
	}
	return out, nil
}

func (c *Codec) decrypt(p *commonpb.Payload) (*commonpb.Payload, error) {
	id := string(p.GetMetadata()[MetadataKeyID])
	if id == "" {
		return nil, fmt.Errorf("encrypted payload names no key (no %s metadata)", MetadataKeyID)
	}
	if cph := string(p.GetMetadata()[MetadataCipher]); cph != "" && cph != CipherAES256GCM {
		return nil, fmt.Errorf("payload encrypted with key %q uses cipher %q; only %s is supported", id, cph, CipherAES256GCM)
	}
	aead, ok := c.keys.aeads[id]
	if !ok {
		return nil, &MissingKeyError{KeyID: id, Held: c.keys.IDs()}
	}
	data := p.GetData()
	if len(data) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("payload encrypted with key %q %w: it is too short", id, ErrNotDecrypted)
	}
	nonce, sealed := data[:aead.NonceSize()], data[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, sealed, []byte(id))
	if err != nil {
		return nil, fmt.Errorf("payload encrypted with key %q %w: the key with that ID is not the one that encrypted it, or the payload was altered", id, ErrNotDecrypted)
	}
	var d commonpb.Payload
	if err := proto.Unmarshal(plain, &d); err != nil {
		return nil, fmt.Errorf("payload encrypted with key %q decrypts to something that is not a payload: %w", id, err)
	}
	return &d, nil
}

func isEncrypted(p *commonpb.Payload) bool {
	return string(p.GetMetadata()[converter.MetadataEncoding]) == EncodingEncrypted
}
