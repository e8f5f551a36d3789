package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/blueprint-etl/blueprint/internal/codec"
)

// Defaults of `blueprint codec-server`: loopback only, and the origin of
// the dev server's Web UI.
const (
	defaultCodecListen   = "127.0.0.1:8081"
	defaultCodecUIOrigin = "http://localhost:8233"
	// codecShutdownTimeout is how long requests in flight get on Ctrl-C.
	codecShutdownTimeout = 5 * time.Second
)

func (a *app) codecServerCommand() *cobra.Command {
	var listen string
	var origins []string
	cmd := &cobra.Command{
		Use:   "codec-server",
		Short: "Serve the codec server protocol, so the Web UI and the Temporal CLI show decrypted payloads",
		Long: `Serve the Temporal codec server protocol (POST /encode and /decode with
{"payloads": [...]} in protobuf JSON) with the keys of BLUEPRINT_ENCRYPTION_KEYS,
which must be set. Point the Web UI at it (temporal server start-dev
--ui-codec-endpoint http://127.0.0.1:8081, or TEMPORAL_CODEC_ENDPOINT for the UI
server) and the Temporal CLI (temporal workflow show --codec-endpoint ...): they
then show the parameters, results and summaries that workers and the CLI encrypt.

The Web UI calls the codec server from the browser, so its origin must be allowed
(--ui-origin, repeatable). When BLUEPRINT_CODEC_SERVER_AUTH is set, every request
must carry it as its Authorization header (temporal ... --codec-auth "$VALUE").
Whoever can reach the codec server can decrypt: keep it on loopback or behind
that header. Each request is logged (path, namespace, origin, payload count),
never a payload. Ctrl-C stops it.`,
		Example: `  BLUEPRINT_ENCRYPTION_KEYS=k1:$(openssl rand -base64 32) blueprint codec-server
  blueprint codec-server --listen 127.0.0.1:9081 --ui-origin http://localhost:8233
  temporal workflow show -w RUN_ID --codec-endpoint http://127.0.0.1:8081`,
		Args: cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, _ []string) error {
			if err := checkListen(listen); err != nil {
				return err
			}
			allowed := make([]string, 0, len(origins))
			for _, o := range origins {
				if o == "" {
					continue // --ui-origin "": no browser access
				}
				norm, err := parseOrigin(o)
				if err != nil {
					return err
				}
				allowed = append(allowed, norm)
			}
			keys, err := codec.FromEnv(os.LookupEnv)
			if err != nil {
				return usagef("%v", err)
			}
			if keys == nil {
				return usagef("%s is not set: the codec server decrypts with the keys the workers encrypt with", codec.EnvKeys)
			}
			auth := os.Getenv(codec.EnvServerAuth)
			return a.serveCodec(ctx, listen, keys, codec.ServerOptions{
				Origins:       allowed,
				Authorization: auth,
				Log:           slog.New(slog.NewTextHandler(a.stderr, nil)),
			})
		}),
	}
	cmd.Flags().StringVar(&listen, "listen", defaultCodecListen, "host:port to listen on")
	cmd.Flags().StringSliceVar(&origins, "ui-origin", []string{defaultCodecUIOrigin}, "Web UI origin allowed to call from a browser (CORS), scheme://host:port; repeat for more, \"\" for none")
	return cmd
}

// serveCodec listens, says where, and serves until ctx is done.
func (a *app) serveCodec(ctx context.Context, listen string, keys *codec.Keyring, o codec.ServerOptions) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", listen)
	if err != nil {
		return fmt.Errorf("codec server: %w", err)
	}
	srv := &http.Server{Handler: codec.Handler(codec.New(keys), o), ReadHeaderTimeout: 10 * time.Second}
	cors := "none (the Web UI cannot use it)"
	if len(o.Origins) > 0 {
		cors = strings.Join(o.Origins, ", ")
	}
	auth := "not required"
	if o.Authorization != "" {
		auth = "required (" + codec.EnvServerAuth + ")"
	}
	fmt.Fprintf(a.stdout, "codec server listening on http://%s\n  keys: %s (encrypts), UI origins: %s, Authorization: %s\n",
		ln.Addr(), strings.Join(keys.IDs(), ", "), cors, auth)

	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("codec server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), codecShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("codec server: %w", err)
	}
	return nil
}

// checkListen checks a host:port to listen on.
func checkListen(listen string) error {
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return usagef("--listen %q: must be host:port (like %s)", listen, defaultCodecListen)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return usagef("--listen %q: port %q must be a number from 0 to 65535", listen, port)
	}
	return nil
}

// parseOrigin checks a browser origin, scheme://host[:port], and returns
// it as browsers send it.
func parseOrigin(raw string) (string, error) {
	u, err := url.Parse(raw)
	bad := func(rule string) (string, error) {
		return "", usagef("--ui-origin %q: %s (like %s)", raw, rule, defaultCodecUIOrigin)
	}
	switch {
	case err != nil:
		return bad("is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return bad("must start with http:// or https://")
	case u.Host == "" || u.Hostname() == "":
		return bad("has no host")
	case u.User != nil:
		return bad("must not carry user info")
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return bad("must be an origin: scheme://host:port, no path")
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), nil
}
