package codec_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/blueprint-etl/blueprint/internal/codec"
)

const uiOrigin = "http://localhost:8233"

func codecServer(t *testing.T, o codec.ServerOptions) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(codec.Handler(codec.New(keyring(t, "k1:"+key('a'))), o))
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, url string, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func payloadsJSON(t *testing.T, values ...any) string {
	t.Helper()
	ps, err := converter.GetDefaultDataConverter().ToPayloads(values...)
	require.NoError(t, err)
	b, err := protojson.Marshal(ps)
	require.NoError(t, err)
	return string(b)
}

// TestCodecServerProtocol: /encode then /decode gives the payloads back,
// in protobuf JSON, under any path prefix, with the namespace header.
func TestCodecServerProtocol(t *testing.T) {
	srv := codecServer(t, codec.ServerOptions{})
	plain := payloadsJSON(t, map[string]any{"source_url": "file:///marker-5e1d.csv"}, 42)

	resp, encoded := post(t, srv.URL+"/encode", plain, map[string]string{"X-Namespace": "default"})
	require.Equal(t, http.StatusOK, resp.StatusCode, encoded)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.NotContains(t, encoded, "marker-5e1d")
	var enc commonpb.Payloads
	require.NoError(t, protojson.Unmarshal([]byte(encoded), &enc))
	require.Len(t, enc.Payloads, 2)
	for _, p := range enc.Payloads {
		assert.Equal(t, codec.EncodingEncrypted, string(p.Metadata["encoding"]))
	}

	resp, decoded := post(t, srv.URL+"/some/prefix/default/decode", encoded, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, decoded)
	var dec commonpb.Payloads
	require.NoError(t, protojson.Unmarshal([]byte(decoded), &dec))
	var m map[string]any
	var n int
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(&dec, &m, &n))
	assert.Equal(t, "file:///marker-5e1d.csv", m["source_url"])
	assert.Equal(t, 42, n)
}

func TestCodecServerErrors(t *testing.T) {
	srv := codecServer(t, codec.ServerOptions{})
	other, err := codec.DataConverter(keyring(t, "k7:"+key('x'))).ToPayloads("x")
	require.NoError(t, err)
	otherJSON, err := protojson.Marshal(other)
	require.NoError(t, err)

	tests := []struct {
		name, path, body string
		status           int
		msg              string
	}{
		{"unknown path", "/transcode", "{}", http.StatusNotFound, "not found"},
		{"not JSON", "/decode", "{payloads", http.StatusBadRequest, "not a Payloads message"},
		{"missing key", "/decode", string(otherJSON), http.StatusBadRequest, `payload is encrypted with key "k7"`},
		{"too big", "/decode", `{"payloads":[{"data":"` + strings.Repeat("A", codec.MaxRequestBytes) + `"}]}`, http.StatusRequestEntityTooLarge, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, srv.URL+tt.path, tt.body, nil)
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Contains(t, body, tt.msg)
		})
	}
	resp, err := http.Get(srv.URL + "/decode")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestCodecServerCORS(t *testing.T) {
	srv := codecServer(t, codec.ServerOptions{Origins: []string{uiOrigin}})
	preflight := func(origin string) *http.Response {
		req, err := http.NewRequest(http.MethodOptions, srv.URL+"/decode", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	resp := preflight(uiOrigin)
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, uiOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", resp.Header.Get("Access-Control-Allow-Credentials"))
	assert.Contains(t, resp.Header.Get("Access-Control-Allow-Headers"), "X-Namespace")
	assert.Contains(t, resp.Header.Get("Access-Control-Allow-Headers"), "Authorization")

	resp = preflight("http://evil.example.com")
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"), "other origins get no CORS grant")

	resp, _ = post(t, srv.URL+"/decode", `{"payloads":[]}`, map[string]string{"Origin": uiOrigin})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, uiOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
}

func TestCodecServerAuthorization(t *testing.T) {
	const auth = "Bearer codec-s3cret"
	srv := codecServer(t, codec.ServerOptions{Origins: []string{uiOrigin}, Authorization: auth})
	body := payloadsJSON(t, "x")
	for name, header := range map[string]map[string]string{
		"none":  nil,
		"wrong": {"Authorization": "Bearer nope"},
		"bare":  {"Authorization": "codec-s3cret"},
	} {
		t.Run(name, func(t *testing.T) {
			resp, msg := post(t, srv.URL+"/encode", body, header)
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			assert.NotContains(t, msg, "s3cret")
		})
	}
	resp, _ := post(t, srv.URL+"/encode", body, map[string]string{"Authorization": auth})
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// The browser's preflight carries no credentials and is still answered.
	req, err := http.NewRequest(http.MethodOptions, srv.URL+"/decode", nil)
	require.NoError(t, err)
	req.Header.Set("Origin", uiOrigin)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
}
