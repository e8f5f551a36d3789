# syntax=docker/dockerfile:1
#
# The blueprint worker image: built here, run as a static binary on distroless.
#
#   docker build -t blueprint-worker .          (or `docker compose build worker`)
#   docker run --rm blueprint-worker            # the worker (ENTRYPOINT)
#   docker run --rm --entrypoint /usr/local/bin/blueprint blueprint-worker --help
#
# The worker reads TEMPORAL_* (the SDK's envconfig), BLUEPRINT_DATABASE_URL,
# BLUEPRINT_LOG_FORMAT (text|json), BLUEPRINT_METRICS_ADDR and
# BLUEPRINT_TASK_QUEUE (default local-process-pool); docker-compose.yml sets them.

# Keep the Go version in step with the `go` line of go.mod (compose/compose_test.go
# checks it): GOTOOLCHAIN=local makes an older image fail instead of downloading.
FROM golang:1.26.8-bookworm AS build
ENV GOTOOLCHAIN=local
WORKDIR /src

# Modules first: this layer is rebuilt only when go.mod or go.sum change, not on
# every source edit.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
# Static binaries (no cgo: the SQLite driver is pure Go), without paths of the
# build machine or debug symbols.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/blueprint-worker ./worker && \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/blueprint ./cmd/blueprint

# static-debian12 carries CA certificates and tzdata and nothing else: no shell,
# no package manager. :nonroot is a moving tag; pin its digest
# (gcr.io/distroless/static-debian12:nonroot@sha256:...) for reproducible images.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/blueprint-worker /out/blueprint /usr/local/bin/
USER nonroot:nonroot
# BLUEPRINT_METRICS_ADDR (Prometheus /metrics), as docker-compose.yml sets it.
EXPOSE 9090
ENTRYPOINT ["/usr/local/bin/blueprint-worker"]
