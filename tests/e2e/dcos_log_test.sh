#!/usr/bin/env bash
# End-to-end test of the dcos-log tool on real replicas:
#   - `initialize` turns a brand-new replica VOTING (`status` says so) and refuses a second time;
#   - a dcos-master keeps its registry in a one-replica log (the default `--registry`), so it
#     appends through a `Log`; once it has stopped, `status` shows the learned range and `read`
#     prints the appended registry record, one JSON line per entry.
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
cleanup() {
  local status=$?
  if [[ -n "$MASTER_PID" ]]; then kill -9 "$MASTER_PID" 2>/dev/null || true; wait "$MASTER_PID" 2>/dev/null || true; fi
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
