// Package e2e holds blueprint's end-to-end reliability tests: real worker
// and CLI processes built from this module, a real Temporal dev server,
// and a real warehouse, put through crashes, restarts, flaky and hostile
// sources and bad input. They check that nothing is lost, duplicated or
// leaked.
//
// The tests carry the build tag e2e, so `go test ./...` skips them; run
// them with
//
//	make test-e2e
//
// which vets them and runs `go test -tags e2e ./e2e/`. They need
// ./bin/temporal (make tools) and take a few minutes. With
// BLUEPRINT_TEST_POSTGRES_URL set, the secrets and SQL injection tests also
// run workers against PostgreSQL.
//
// Every test starts its own dev server, workers and warehouse, kills them
// when it ends, and TestMain fails the run if any process outlives it. At
// the end the suite prints what it survived and checked: worker kills,
// restarts, runs, rows and bad inputs.
//
// Set BLUEPRINT_E2E_SEED to replay the random kill moments of a previous
// run (every run logs its seed).
//
// It imports nothing of blueprint: it builds and runs the programs.
package e2e
