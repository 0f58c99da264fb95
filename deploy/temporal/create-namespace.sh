#!/bin/sh
# Registers the namespace timemachine uses (TEMPORAL_NAMESPACE, "default" unless changed), once the
# server answers. The temporalio/server image does not create one by itself. Idempotent.
set -eu

NAMESPACE=${TEMPORAL_NAMESPACE:-default}
RETENTION=${TEMPORAL_NAMESPACE_RETENTION:-720h}

echo "waiting for the Temporal frontend at $TEMPORAL_ADDRESS"
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do sleep 2; done

if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; then
  echo "namespace $NAMESPACE already exists"
else
  temporal operator namespace create --address "$TEMPORAL_ADDRESS" --retention "$RETENTION" --namespace "$NAMESPACE"
  echo "namespace $NAMESPACE created (retention $RETENTION)"
fi
