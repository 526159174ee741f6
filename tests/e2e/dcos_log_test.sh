#!/usr/bin/env bash
# End-to-end test of the dcos-log tool on real replicas:
#   - `initialize` turns a brand-new replica VOTING (`status` says so) and refuses a second time;
#   - a dcos-master keeps its registry in a one-replica log (the default `--registry`), so it
#     appends through a `Log`; once it has stopped, `status` shows the learned range and `read`
#     prints the appended registry record, one JSON line per entry;
#   - `replica` serves standalone replicas: a master with `--quorum=2` over three replicas (its
#     own and two `dcos-log replica`s) stores weights, and a master on a fresh work_dir at the
#     same replica address recovers them from the other two.
#
# Usage: bash tests/e2e/dcos_log_test.sh <build-dir>
# Needs bash and python3 (the HTTP probe). Waits poll every 0.1 s for at most 20 s.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 <build-dir>" >&2
  exit 2
fi
APPS="$(cd "$1" && pwd)/apps"
for binary in dcos-master dcos-log; do
  [[ -x "$APPS/$binary" ]] || { echo "FAIL: $APPS/$binary is missing or not executable" >&2; exit 1; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/dcos-e2e-log.XXXXXX")
MASTER_PID=""
REPLICA_PIDS=()
cleanup() {
  local status=$?
  if [[ -n "$MASTER_PID" ]]; then kill -9 "$MASTER_PID" 2>/dev/null || true; wait "$MASTER_PID" 2>/dev/null || true; fi
  for pid in "${REPLICA_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
  exit "$status"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  [[ -f "$TMP/master.log" ]] && { echo "---- tail of master.log ----" >&2; tail -n 25 "$TMP/master.log" >&2; }
  exit 1
}
pass() { echo "PASS: $*"; }

# initialize / status on a brand-new replica.
"$APPS/dcos-log" initialize --path "$TMP/fresh" >"$TMP/out" 2>&1 || fail "initialize: $(cat "$TMP/out")"
"$APPS/dcos-log" status --path "$TMP/fresh" >"$TMP/out" 2>&1 || fail "status: $(cat "$TMP/out")"
grep -q '"status":"VOTING"' "$TMP/out" || fail "status after initialize: $(cat "$TMP/out")"
if "$APPS/dcos-log" initialize --path "$TMP/fresh" >"$TMP/out" 2>&1; then
  fail "a second initialize succeeded: $(cat "$TMP/out")"
fi
grep -q "refusing" "$TMP/out" || fail "a second initialize did not say why: $(cat "$TMP/out")"
pass "initialize makes an EMPTY replica VOTING and refuses a VOTING one"

# A master appends its registry through a Log; read it back once the master is gone.
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
"$APPS/dcos-master" --ip=127.0.0.1 --port="$PORT" --work_dir="$TMP/master" >"$TMP/master.log" 2>&1 &
MASTER_PID=$!
healthy() {
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/master/health', timeout=2)" 2>/dev/null
}
for ((i = 0; i < 200; i++)); do healthy && break; sleep 0.1; done
healthy || fail "dcos-master did not answer /master/health within 20 s"
kill -TERM "$MASTER_PID"
wait "$MASTER_PID" || true
MASTER_PID=""

LOG="$TMP/master/replicated_log"
"$APPS/dcos-log" status --path "$LOG" >"$TMP/out" 2>&1 || fail "status of the master's log: $(cat "$TMP/out")"
grep -q '"status":"VOTING"' "$TMP/out" || fail "the master's replica is not VOTING: $(cat "$TMP/out")"
grep -q '"learned_end":[1-9]' "$TMP/out" || fail "the master's log has no learned entry: $(cat "$TMP/out")"
"$APPS/dcos-log" read --path "$LOG" >"$TMP/entries" 2>"$TMP/err" || fail "read: $(cat "$TMP/err")"
[[ -s "$TMP/entries" ]] || fail "read printed no entries"
python3 - "$TMP/entries" <<'PY' || fail "read output: $(head -c 600 "$TMP/entries")"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
entries = [json.loads(line) for line in lines]
assert all(set(e) == {"position", "data"} for e in entries), "every line has position and data"
positions = [e["position"] for e in entries]
assert positions == sorted(positions) and len(set(positions)) == len(positions), "positions ascend"
assert any('"master"' in e["data"] and "registry" in e["data"] for e in entries), "the registry record is there"
PY
pass "dcos-log read prints the registry entries a dcos-master appended through its Log ($(wc -l <"$TMP/entries") entries)"
"$APPS/dcos-log" read --path "$LOG" --from 0 --to 0 >"$TMP/out" 2>&1 || fail "read of position 0: $(cat "$TMP/out")"
[[ ! -s "$TMP/out" ]] || fail "position 0 (the initial NOP) printed an entry: $(cat "$TMP/out")"
pass "read --from 0 --to 0 prints nothing for the initial NOP"

# Standalone replicas keep a --quorum=2 registry beyond the master's disk.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
P0=$(free_port); P1=$(free_port); P2=$(free_port)
REPLICAS="127.0.0.1:$P0,127.0.0.1:$P1,127.0.0.1:$P2"
for i in 1 2; do
  port_var="P$i"
  "$APPS/dcos-log" replica --path "$TMP/replica-$i" --port "${!port_var}" --replicas "$REPLICAS" --quorum 2 \
    >"$TMP/replica-$i.log" 2>&1 &
  REPLICA_PIDS+=($!)
done
if "$APPS/dcos-log" replica --path "$TMP/bad" --port "$P0" --replicas "127.0.0.1:$P1" >"$TMP/out" 2>&1; then
  fail "a replica not in its own --replicas list started"
fi
grep -q "do not include this one" "$TMP/out" || fail "a replica missing from --replicas did not say why: $(cat "$TMP/out")"
pass "dcos-log replica refuses a --replicas list without itself"

start_master() {  # work_dir
  "$APPS/dcos-master" --ip=127.0.0.1 --port="$PORT" --work_dir="$1" --log_replicas="$REPLICAS" --log_port="$P0" \
    --quorum=2 >"$TMP/master.log" 2>&1 &
  MASTER_PID=$!
  for ((i = 0; i < 200; i++)); do healthy && break; sleep 0.1; done
  healthy || fail "dcos-master with --quorum=2 did not answer /master/health within 20 s"
}
operator_call() {  # body -> prints the HTTP status and the body
  python3 - "$PORT" "$1" <<'PY'
import sys, urllib.request, urllib.error
request = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/api/v1", data=sys.argv[2].encode(),
                                 headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(request, timeout=20) as reply:
        print(reply.status, reply.read().decode())
except urllib.error.HTTPError as error:
    print(error.code, error.read().decode())
PY
}
start_master "$TMP/master-a"
# 503 until the registry is recovered: retry the call until it is taken.
for ((i = 0; i < 200; i++)); do
  out=$(operator_call '{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"eng","weight":2.5}]}}')
  [[ "$out" == 200* ]] && break
  sleep 0.1
done
[[ "$out" == 200* ]] || fail "UPDATE_WEIGHTS on the --quorum=2 master: $out"
# The call is answered before the registry store: await the store (recovery made the first).
stores() {
  python3 -c "import json, urllib.request; print(json.load(urllib.request.urlopen('http://127.0.0.1:$PORT/metrics/snapshot', timeout=2)).get('registrar/state_store_ms/count', 0))"
}
for ((i = 0; i < 200; i++)); do (($(stores) >= 2)) && break; sleep 0.1; done
(($(stores) >= 2)) || fail "the weights were not stored within 20 s"
kill -TERM "$MASTER_PID"; wait "$MASTER_PID" || true; MASTER_PID=""
start_master "$TMP/master-b"
for ((i = 0; i < 200; i++)); do
  out=$(operator_call '{"type":"GET_WEIGHTS"}')
  [[ "$out" == 200*'"weight":2.5'* ]] && break
  sleep 0.1
done
[[ "$out" == 200*'"weight":2.5'* ]] || fail "a master on a fresh work_dir did not recover the weights: $out"
pass "a --quorum=2 master on a fresh work_dir recovers the registry from two dcos-log replicas"
kill -TERM "$MASTER_PID"; wait "$MASTER_PID" || true; MASTER_PID=""
for pid in "${REPLICA_PIDS[@]}"; do kill -TERM "$pid"; wait "$pid" || fail "a replica did not exit cleanly on SIGTERM"; done
REPLICA_PIDS=()
pass "dcos-log replica exits 0 on SIGTERM"
