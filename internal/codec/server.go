package codec

import (
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// MaxRequestBytes bounds a codec request's body. The Web UI sends the
// payloads of one page of history at a time; the server's own limit for a
// payload is 2 MiB.
const MaxRequestBytes = 32 << 20

// EnvServerAuth names the environment variable whose value, when set, the
// codec server requires as the Authorization header of every request
// (`temporal workflow show --codec-auth` sends it). It is read from the
// environment so that it never shows in a process list.
const EnvServerAuth = "BLUEPRINT_CODEC_SERVER_AUTH"

// ServerOptions configure Handler.
type ServerOptions struct {
	// Origins are the Web UI origins (scheme://host:port) allowed to call
	// the server from a browser. None: no CORS headers, so only
	// non-browser clients (the Temporal CLI) can use it.
	Origins []string
	// Authorization, when set, is the Authorization header every request
	// must carry.
	Authorization string
	// Log receives one line per request (never a payload). Nil: none.
	Log *slog.Logger
}

// Handler serves the codec server protocol: a POST whose path ends in
// /encode or /decode carries a Payloads message as protobuf JSON
// ({"payloads": [...]}) and gets the encoded or decoded Payloads back. The
// X-Namespace header is accepted and logged: every namespace uses the same
// keys. A browser's CORS preflight is answered for the allowed origins.
func Handler(c *Codec, o ServerOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && slices.Contains(o.Origins, origin) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Max-Age", "600")
		}
		w.Header().Add("Vary", "Origin")
		if r.Method == http.MethodOptions {
			// A preflight carries no credentials: it is answered as it is.
			w.WriteHeader(http.StatusNoContent)
			return
		}
		status, n := serve(c, o, w, r)
		if o.Log != nil {
			o.Log.Info("codec request", "method", r.Method, "path", r.URL.Path, "namespace", r.Header.Get("X-Namespace"),
				"origin", origin, "remote", r.RemoteAddr, "payloads", n, "status", status)
		}
	})
}

// serve answers one request and returns its status and payload count.
func serve(c *Codec, o ServerOptions, w http.ResponseWriter, r *http.Request) (int, int) {
	fail := func(status int, msg string) (int, int) {
		http.Error(w, msg, status)
		return status, 0
	}
	if o.Authorization != "" {
		got := r.Header.Get("Authorization")
		if subtle.ConstantTimeCompare([]byte(got), []byte(o.Authorization)) != 1 {
			return fail(http.StatusUnauthorized, "missing or wrong Authorization header")
		}
	}
	var op func([]*commonpb.Payload) ([]*commonpb.Payload, error)
	switch {
	case strings.HasSuffix(r.URL.Path, "/encode"):
		op = c.Encode
	case strings.HasSuffix(r.URL.Path, "/decode"):
		op = c.Decode
	default:
		return fail(http.StatusNotFound, "not found: POST .../encode or .../decode")
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		return fail(http.StatusMethodNotAllowed, "method not allowed: use POST")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fail(http.StatusRequestEntityTooLarge, "request body is larger than 32 MiB")
		}
		return fail(http.StatusBadRequest, "read request: "+err.Error())
	}
	var in commonpb.Payloads
	if err := protojson.Unmarshal(body, &in); err != nil {
		return fail(http.StatusBadRequest, "request body is not a Payloads message in protobuf JSON: "+err.Error())
	}
	out, err := op(in.GetPayloads())
	if err != nil {
		return fail(http.StatusBadRequest, err.Error())
	}
	resp, err := protojson.Marshal(&commonpb.Payloads{Payloads: out})
	if err != nil {
		return fail(http.StatusInternalServerError, "encode response: "+err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(resp)
	return http.StatusOK, len(out)
}
