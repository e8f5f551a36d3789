// Package deploy holds no code: it is the home of the tests that check the
// production-like stack (docker-compose.yml, Dockerfile and the files under
// deploy/) without a Docker engine. The compose file is loaded with the same
// library Docker Compose uses, so what the tests see is what `docker compose
// up` would run, and the Temporal setup script runs against a real dev server.
package deploy
