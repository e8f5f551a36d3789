package source

import (
	"fmt"
	"path/filepath"

	"github.com/blueprint-etl/blueprint/internal/redact"
	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/sourceurl"
)

// Key names the data set a source reads: the warehouse keys its rows by
// (source, record id), so every spelling of one data set must give one key,
// and two data sets never share one.
//
//   - demo: "demo://orders?seed=N"; the latency and failure options do not
//     change the records.
//   - file: "file:///abs/path", the file itself: its path cleaned, made
//     absolute against the file root and with symlinks resolved, so
//     file:data/orders.csv, file:./data//orders.csv and
//     file:///root/data/orders.csv are one source. A file that does not
//     exist or lies outside the root is refused here as when reading it.
//   - http(s): the URL as given, without user info and with secret-looking
//     query values redacted (redact.URL): scheme, host, port, path
//     and query identify the feed, so ?page=1 and ?page=2 starts are two
//     sources, and a bearer token or API key never is part of the key.
func Key(spec sourceurl.Spec, cfg Config) (string, error) {
	switch spec.Kind {
	case sourceurl.Demo:
		return fmt.Sprintf("demo://%s?seed=%d", spec.Dataset, spec.Seed), nil
	case sourceurl.File:
		if _, err := fileFormat(spec.Path); err != nil {
			return "", err
		}
		root, rel, err := confine(spec.Path, cfg.FileRoot)
		if err != nil {
			return "", err
		}
		return "file://" + filepath.ToSlash(filepath.Join(root, rel)), nil
	default:
		u := *spec.URL
		u.User = nil
		return redact.URL(u.String()), nil
	}
}

// RefKey is the Key of a source as OpenRef takes it: a source URL, or
// source:NAME with its definition def.
func RefKey(ref string, def *restapi.Definition, cfg Config) (string, error) {
	spec, err := sourceurl.Resolve(ref, def)
	if err != nil {
		return "", badSource(nil, "source %s: %v", redact.URL(ref), err)
	}
	return Key(spec, cfg)
}
