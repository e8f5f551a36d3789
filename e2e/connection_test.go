//go:build e2e

package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/conn"
)

// envMap is an environment made of a map: the machine's never leaks in.
type envMap map[string]string

func (e envMap) LookupEnv(k string) (string, bool) { v, ok := e[k]; return v, ok }

func (e envMap) Environ() []string {
	var out []string
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}

// pki is a test certificate authority with a server and a client
// certificate, in PEM.
type pki struct {
	caPEM, serverPEM, serverKeyPEM, clientPEM, clientKeyPEM []byte
	pool                                                    *x509.CertPool
}

const serverName = "temporal.e2e.test"

func newPKI(t *testing.T) *pki {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err = x509.ParseCertificate(caDER)
	require.NoError(t, err)
	p := &pki{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, dns ...string) (certPEM, keyPEM []byte) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, DNSNames: dns,
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		require.NoError(t, err)
		keyDER, err := x509.MarshalECPrivateKey(key)
		require.NoError(t, err)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	}
	p.serverPEM, p.serverKeyPEM = leaf(2, serverName, x509.ExtKeyUsageServerAuth, serverName)
	p.clientPEM, p.clientKeyPEM = leaf(3, "e2e-worker", x509.ExtKeyUsageClientAuth)
	return p
}

// call is what a fake Temporal frontend saw of one gRPC call.
type call struct {
	method, authorization, clientCert string
	tls                               bool
}

// fakeFrontend answers every gRPC call with UNAUTHENTICATED, after noting
// what credentials came with it.
type fakeFrontend struct {
	mu    sync.Mutex
	calls []call
}

func (f *fakeFrontend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := call{method: r.URL.Path, authorization: r.Header.Get("Authorization"), tls: r.TLS != nil}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		c.clientCert = r.TLS.PeerCertificates[0].Subject.CommonName
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/grpc")
	w.Header().Set("Grpc-Status", "16") // UNAUTHENTICATED
	w.Header().Set("Grpc-Message", "e2e fake frontend")
	w.WriteHeader(http.StatusOK)
}

func (f *fakeFrontend) seen() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// plaintextFrontend serves gRPC over cleartext HTTP/2, as the dev server does.
func plaintextFrontend(t *testing.T) (*fakeFrontend, string) {
	t.Helper()
	f := &fakeFrontend{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: f, Protocols: &protocols, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return f, ln.Addr().String()
}

// tlsFrontend serves gRPC over TLS with p's server certificate and
// requires a client certificate of p's CA.
func tlsFrontend(t *testing.T, p *pki) (*fakeFrontend, string) {
	t.Helper()
	f := &fakeFrontend{}
	cert, err := tls.X509KeyPair(p.serverPEM, p.serverKeyPEM)
	require.NoError(t, err)
	ts := httptest.NewUnstartedServer(f)
	ts.EnableHTTP2 = true
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.pool, MinVersion: tls.VersionTLS12}
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake of "wrong server name"
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return f, ts.Listener.Addr().String()
}

// dial connects as the worker and the CLI do: conn.Load, then conn.Dial.
func dial(t *testing.T, o conn.Overrides, env envMap) (conn.Settings, error) {
	t.Helper()
	opts, settings, err := conn.Load(o, env)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := conn.Dial(ctx, opts)
	if err == nil {
		c.Close()
	}
	return settings, err
}

// TestAPIKeyAndTLSOnTheWire connects through conn.Load and conn.Dial, the
// way the worker and the CLI do, to fake Temporal frontends, and checks
// what arrives: the API key as a bearer token, over TLS verified against
// the configured CA and server name, with the configured client
// certificate, whether the settings come from TEMPORAL_* variables or from
// a temporal.toml profile; and that neither Settings nor the errors ever
// carry the key.
func TestAPIKeyAndTLSOnTheWire(t *testing.T) {
	t.Parallel()
	const key = "e2e-wire-api-key-b81f2c"
	p := newPKI(t)
	dir := t.TempDir()
	files := map[string][]byte{"ca.pem": p.caPEM, "client.pem": p.clientPEM, "client.key": p.clientKeyPEM}
	for name, data := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o600))
	}
	absent := filepath.Join(dir, "absent.toml")

	tlsFront, tlsAddr := tlsFrontend(t, p)
	plainFront, plainAddr := plaintextFrontend(t)

	toml := filepath.Join(dir, "temporal.toml")
	require.NoError(t, os.WriteFile(toml, []byte(fmt.Sprintf(`[profile.prod]
address = %q
namespace = "prod-ns"
api_key = %q

[profile.prod.tls]
server_name = %q
server_ca_cert_path = %q
client_cert_path = %q
client_key_path = %q

[profile.local]
address = %q
api_key = "file-key-should-lose"

[profile.local.tls]
disabled = true
`, tlsAddr, key, serverName, filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key"), plainAddr)), 0o600))

	tests := []struct {
		name    string
		over    conn.Overrides
		env     envMap
		front   *fakeFrontend
		wantTLS bool
	}{
		{"environment, TLS off", conn.Overrides{}, envMap{"TEMPORAL_CONFIG_FILE": absent,
			"TEMPORAL_ADDRESS": plainAddr, "TEMPORAL_API_KEY": key, "TEMPORAL_TLS": "false"}, plainFront, false},
		{"environment, mutual TLS", conn.Overrides{}, envMap{"TEMPORAL_CONFIG_FILE": absent,
			"TEMPORAL_ADDRESS": tlsAddr, "TEMPORAL_API_KEY": key, "TEMPORAL_TLS_SERVER_NAME": serverName,
			"TEMPORAL_TLS_SERVER_CA_CERT_DATA": string(p.caPEM),
			"TEMPORAL_TLS_CLIENT_CERT_DATA":    string(p.clientPEM), "TEMPORAL_TLS_CLIENT_KEY_DATA": string(p.clientKeyPEM)}, tlsFront, true},
		{"environment, TLS files", conn.Overrides{}, envMap{"TEMPORAL_CONFIG_FILE": absent,
			"TEMPORAL_ADDRESS": tlsAddr, "TEMPORAL_API_KEY": key, "TEMPORAL_TLS_SERVER_NAME": serverName,
			"TEMPORAL_TLS_SERVER_CA_CERT_PATH": filepath.Join(dir, "ca.pem"),
			"TEMPORAL_TLS_CLIENT_CERT_PATH":    filepath.Join(dir, "client.pem"), "TEMPORAL_TLS_CLIENT_KEY_PATH": filepath.Join(dir, "client.key")}, tlsFront, true},
		{"temporal.toml profile", conn.Overrides{ConfigFile: toml, Profile: "prod"}, envMap{}, tlsFront, true},
		{"environment wins over temporal.toml", conn.Overrides{}, envMap{"TEMPORAL_CONFIG_FILE": toml, "TEMPORAL_PROFILE": "local",
			"TEMPORAL_API_KEY": key}, plainFront, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(tt.front.seen())
			settings, err := dial(t, tt.over, tt.env)
			require.Error(t, err, "the fake frontend refuses every call")
			require.Contains(t, err.Error(), "e2e fake frontend", "the call reached the frontend")
			require.NotContains(t, err.Error(), key)
			calls := tt.front.seen()[before:]
			require.NotEmpty(t, calls)
			for _, c := range calls {
				require.Equal(t, "Bearer "+key, c.authorization, "%s carries the API key", c.method)
				require.Equal(t, tt.wantTLS, c.tls)
				if tt.wantTLS {
					require.Equal(t, "e2e-worker", c.clientCert, "the client certificate is presented")
				}
			}
			require.True(t, settings.APIKeySet)
			require.Equal(t, tt.wantTLS, settings.TLS)
			b, err := json.Marshal(settings)
			require.NoError(t, err)
			for _, shown := range []string{string(b), fmt.Sprintf("%+v", settings), fmt.Sprintf("%#v", settings)} {
				require.NotContains(t, shown, key, "Settings show that a key is set, never the key")
			}
		})
	}

	t.Run("wrong server name", func(t *testing.T) {
		before := len(tlsFront.seen())
		_, err := dial(t, conn.Overrides{}, envMap{"TEMPORAL_CONFIG_FILE": absent,
			"TEMPORAL_ADDRESS": tlsAddr, "TEMPORAL_API_KEY": key, "TEMPORAL_TLS_SERVER_NAME": "impostor.e2e.test",
			"TEMPORAL_TLS_SERVER_CA_CERT_DATA": string(p.caPEM),
			"TEMPORAL_TLS_CLIENT_CERT_DATA":    string(p.clientPEM), "TEMPORAL_TLS_CLIENT_KEY_DATA": string(p.clientKeyPEM)})
		require.Error(t, err)
		require.NotContains(t, err.Error(), key)
		require.Len(t, tlsFront.seen(), before, "the key is never sent to a server that fails verification")
	})

	t.Run("options", func(t *testing.T) {
		opts, s, err := conn.Load(conn.Overrides{ConfigFile: toml, Profile: "prod"}, envMap{})
		require.NoError(t, err)
		require.Equal(t, conn.Settings{Address: tlsAddr, Namespace: "prod-ns", Profile: "prod", ConfigFile: toml, TLS: true, APIKeySet: true}, s)
		require.NotNil(t, opts.Credentials)
		require.NotNil(t, opts.ConnectionOptions.TLS)
		require.Equal(t, serverName, opts.ConnectionOptions.TLS.ServerName)
		require.NotNil(t, opts.ConnectionOptions.TLS.RootCAs)
		require.Len(t, opts.ConnectionOptions.TLS.Certificates, 1)
		require.False(t, opts.ConnectionOptions.TLS.InsecureSkipVerify)

		opts, s, err = conn.Load(conn.Overrides{}, envMap{"TEMPORAL_CONFIG_FILE": absent, "TEMPORAL_API_KEY": key, "TEMPORAL_TLS": "false"})
		require.NoError(t, err)
		require.True(t, opts.ConnectionOptions.TLSDisabled)
		require.Nil(t, opts.ConnectionOptions.TLS)
		require.False(t, s.TLS)
		require.True(t, s.APIKeySet)

		opts, s, err = conn.Load(conn.Overrides{}, envMap{"TEMPORAL_CONFIG_FILE": absent, "TEMPORAL_API_KEY": key})
		require.NoError(t, err)
		require.NotNil(t, opts.ConnectionOptions.TLS, "an API key turns TLS on by default")
		require.True(t, s.TLS)

		_, _, err = conn.Load(conn.Overrides{}, envMap{"TEMPORAL_CONFIG_FILE": absent, "TEMPORAL_API_KEY": key,
			"TEMPORAL_TLS_CLIENT_CERT_DATA": string(p.clientPEM)})
		require.Error(t, err, "a client certificate without its key is refused")
		require.NotContains(t, err.Error(), key)
		require.False(t, strings.Contains(err.Error(), string(p.clientKeyPEM)))
	})
}
