// Package compose holds no code: it is the home of the Docker Compose
// stack's files (temporal/: the server's dynamic config and setup script)
// and of the tests that check the production-like stack (docker-compose.yml,
// Dockerfile and the files here) without a Docker engine. The compose file is loaded with the same
// library Docker Compose uses, so what the tests see is what `docker compose
// up` would run, and the Temporal setup script runs against a real dev server.
//
// It imports nothing of blueprint.
package compose
