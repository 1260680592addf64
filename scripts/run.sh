#!/usr/bin/env bash
# `make run`: runs the controller. With no cluster configured (KUBECONFIG
# unset and no ~/.kube/config), starts a local control plane and the Azure
# emulator, applies the CRDs and manifests/examples/, runs the controller in
# the foreground and prints the resulting llm-config. Ctrl-C stops everything
# this script started.
set -euo pipefail
BIN=${1:-bin/foundry-controller}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
cluster=""; emu_dir=""; emu_pid=""; ctl_pid=""

cleanup() {
  trap - EXIT INT TERM
  [ -n "$ctl_pid" ] && kill -TERM "$ctl_pid" 2>/dev/null && wait "$ctl_pid" 2>/dev/null || true
  [ -n "$emu_pid" ] && kill -TERM "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null || true
  [ -n "$emu_dir" ] && rm -rf "$emu_dir"
  [ -n "$cluster" ] && "$ROOT/tests/cluster/down" "$cluster" >/dev/null 2>&1 || true
  echo "make run: stopped" >&2
}
trap cleanup EXIT
trap 'exit 0' INT TERM

if [ -z "${KUBECONFIG:-}" ] && [ ! -f "$HOME/.kube/config" ]; then
  echo "make run: no cluster configured: starting a local control plane" >&2
  cluster=$("$ROOT/tests/cluster/up" | tail -1)
  export KUBECONFIG=$cluster/kubeconfig
  kubectl apply -f "$ROOT/crd/" >/dev/null
  kubectl wait --for=condition=Established crd --all --timeout=60s >/dev/null
  local_cluster=1
else
  local_cluster=0
fi

# probes and metrics on loopback ports (override with FOUNDRY_* env or FC_RUN_ARGS)
ctl_args=(run --health-probe-bind-address=${FOUNDRY_HEALTH_PROBE_BIND_ADDRESS:-127.0.0.1:8081}
          --metrics-bind-address=${FOUNDRY_METRICS_BIND_ADDRESS:-127.0.0.1:8080})
if [ "$local_cluster" = 1 ] && [ -x "$ROOT/tests/azure_emulator/emulator.py" ]; then
  emu_dir=$(mktemp -d)
  "$PY" "$ROOT/tests/azure_emulator/emulator.py" --state-dir "$emu_dir" --quiet --die-with-parent >"$emu_dir/log" 2>&1 &
  emu_pid=$!
  for _ in $(seq 100); do [ -s "$emu_dir/port" ] && break; sleep 0.1; done
  [ -s "$emu_dir/port" ] || { echo "make run: the Azure emulator did not start:" >&2; cat "$emu_dir/log" >&2; exit 1; }
  port=$(cat "$emu_dir/port")
  echo "make run: Azure emulator on https://127.0.0.1:$port (CA $emu_dir/ca.pem)" >&2
  # the emulator's client-secret credential (tests/fixtures/azure/world.yaml)
  export AZURE_TENANT_ID=88888888-8888-8888-8888-888888888888
  export AZURE_CLIENT_ID=00000000-0000-0000-0000-00000000c11e
  export AZURE_CLIENT_SECRET=emulator-secret
  export AZURE_AUTHORITY_HOST=https://127.0.0.1:$port/
  unset AZURE_FEDERATED_TOKEN_FILE
  ctl_args+=(--azure-arm-endpoint "https://127.0.0.1:$port" --azure-ca-file "$emu_dir/ca.pem"
             --suggest-regions eastus2,southcentralus,swedencentral)
elif [ "$local_cluster" = 1 ]; then
  ctl_args+=(--azure-validation=off)
fi

if [ "$local_cluster" = 1 ]; then
  kubectl apply -k "$ROOT/manifests/examples/" >/dev/null
  echo "make run: examples applied; from another terminal: export KUBECONFIG=$KUBECONFIG" >&2
fi

# extra controller flags: make run FC_RUN_ARGS="--log-format=json"
read -r -a extra <<< "${FC_RUN_ARGS:-}"
"$BIN" "${ctl_args[@]}" "${extra[@]+"${extra[@]}"}" &
ctl_pid=$!
# Show llm-config once the controller has written it.
( for _ in $(seq 300); do
    if kubectl get configmap llm-config -n aucert >/dev/null 2>&1; then
      sleep 1; echo "----- llm-config (namespace aucert) -----" >&2
      kubectl get configmap llm-config -n aucert -o yaml >&2; exit 0
    fi
    kill -0 "$ctl_pid" 2>/dev/null || exit 0; sleep 0.2
  done ) &
wait "$ctl_pid"
