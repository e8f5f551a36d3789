#!/bin/sh
# Registers the custom search attributes blueprint needs, both Keyword:
# BlueprintDeployment, which tags every run started for a deployment (by its
# schedule or by hand) so that `blueprint runs ls --deployment` finds them, and
# BlueprintRetryOf, which links a `blueprint runs retry` to the run it retries.
#
# Run by the one-shot temporal-setup service of docker-compose.yml (in the
# temporalio/admin-tools image), and by compose/compose_test.go against a dev
# server. Safe to run again: an attribute already registered as Keyword is left
# alone; one registered with another type is an error, since blueprint cannot use
# it and Temporal cannot change a type in place.
#
# Environment: TEMPORAL_ADDRESS (temporal:7233), TEMPORAL_NAMESPACE (default),
# SETUP_ATTEMPTS (60) and SETUP_INTERVAL (2, seconds) bound each wait.
set -eu

address="${TEMPORAL_ADDRESS:-temporal:7233}"
namespace="${TEMPORAL_NAMESPACE:-default}"
attempts="${SETUP_ATTEMPTS:-60}"
interval="${SETUP_INTERVAL:-2}"
names="BlueprintDeployment BlueprintRetryOf"

log() { echo "temporal-setup: $*"; }
fail() { echo "temporal-setup: $*" >&2; exit 1; }

# wait_for DESCRIPTION COMMAND...: run COMMAND until it succeeds, at most
# $attempts times; on the last failure show its output.
wait_for() {
  what=$1
  shift
  i=1
  until "$@" >/dev/null 2>&1; do
    if [ "$i" -ge "$attempts" ]; then
      "$@" || true
      fail "gave up waiting for $what after $attempts attempts"
    fi
    i=$((i + 1))
    sleep "$interval"
  done
}

serving() {
  temporal operator cluster health --address "$address" | grep -qw SERVING
}

# registered_type NAME prints the type NAME is registered with in $namespace
# (INDEXED_VALUE_TYPE_KEYWORD, ...), or nothing.
registered_type() {
  temporal operator search-attribute list --namespace "$namespace" --address "$address" --output json |
    sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([A-Z_]*\)\".*/\1/p" | head -n 1
}

# register NAME registers NAME as Keyword unless it is already.
register() {
  name=$1
  i=1
  while :; do
    found=$(registered_type "$name" 2>/dev/null || true)
    case "$found" in
    INDEXED_VALUE_TYPE_KEYWORD)
      log "search attribute $name (Keyword) is registered in namespace $namespace"
      return 0
      ;;
    "") ;;
    *)
      fail "search attribute $name exists in namespace $namespace with type $found; blueprint needs Keyword"
      ;;
    esac
    if temporal operator search-attribute create --name "$name" --type Keyword \
      --namespace "$namespace" --address "$address"; then
      log "registered search attribute $name (Keyword) in namespace $namespace"
      return 0
    fi
    if [ "$i" -ge "$attempts" ]; then
      fail "could not register search attribute $name after $attempts attempts"
    fi
    i=$((i + 1))
    sleep "$interval"
  done
}

log "waiting for the Temporal server at $address"
wait_for "the server at $address" serving
# auto-setup creates the namespace a moment after the server starts serving.
log "waiting for namespace $namespace"
wait_for "namespace $namespace" temporal operator namespace describe --namespace "$namespace" --address "$address"

for name in $names; do
  register "$name"
done
