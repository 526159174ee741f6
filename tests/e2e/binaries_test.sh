#!/usr/bin/env bash
# End-to-end test of the real binaries: a dcos-master and two dcos-slave processes on free
# ports, dcos-execute against them, flag handling (--help, bad values, MESOS_* environment),
# and the classic read endpoints.
#
# Usage: bash tests/e2e/binaries_test.sh <build-dir>
#
# Needs bash and python3 (used as the HTTP client; curl is not assumed). Waits poll a condition
# every 0.1 s and give up after 20 s; there are no fixed sleeps. Stops at the first failure with
# a message and the tails of the daemons' logs. Set KEEP_TMP=1 to keep the temporary directory.
# Checks that fail because of a known, reported server bug can be skipped with SKIP_KNOWN_BUGS=1
# (they are the checks that call `known_bug`; there are none at the moment: no known bugs).
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 <build-dir>" >&2
  exit 2
fi
BUILD=$(cd "$1" && pwd)
APPS="$BUILD/apps"
for binary in dcos-master dcos-slave dcos-execute; do
  [[ -x "$APPS/$binary" ]] || { echo "FAIL: $APPS/$binary is missing or not executable" >&2; exit 1; }
done
command -v python3 >/dev/null || { echo "FAIL: python3 is needed as the HTTP client" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/dcos-e2e-binaries.XXXXXX")
PIDS=()
PASSED=0
SKIPPED=0

cleanup() {
  local status=$?
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  # Give them up to 5 s to exit (polled), then SIGKILL what is left.
  local i
  for ((i = 0; i < 50; i++)); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ "${KEEP_TMP:-0}" == 1 ]]; then
    echo "kept $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$status"
}
trap cleanup EXIT

show_logs() {
  local log
  for log in "$TMP"/*.log "$TMP"/*.out; do
    [[ -f "$log" ]] || continue
    echo "---- tail of $(basename "$log") ----" >&2
    tail -n 25 "$log" >&2 || true
  done
}

fail() {
  echo "FAIL: $*" >&2
  show_logs
  echo "$PASSED passed, 1 failed" >&2
  exit 1
}

pass() {
  PASSED=$((PASSED + 1))
  echo "PASS: $*"
}

# A check that fails because of a known, reported server bug: fatal unless SKIP_KNOWN_BUGS=1.
known_bug() {
  local what=$1 bug=$2
  if [[ "${SKIP_KNOWN_BUGS:-0}" == 1 ]]; then
    SKIPPED=$((SKIPPED + 1))
    echo "KNOWN BUG (skipped): $what [$bug]"
  else
    fail "$what [known bug: $bug; SKIP_KNOWN_BUGS=1 skips it]"
  fi
}

# Small HTTP client (python3 standard library).
HTTP="$TMP/e2e_http_client.py"  # not http.py: that would shadow the stdlib package
cat >"$HTTP" <<'PY'
import json, sys, urllib.error, urllib.request

def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (OSError, ValueError):
        return 0, b""

mode, url = sys.argv[1], sys.argv[2]
status, body = fetch(url)
if mode == "status":          # print the status code, 000 when nothing answers
    print(f"{status:03d}")
elif mode == "check":         # exit 0 iff the body is JSON `d` and the expression holds
    expression = sys.argv[3]
    try:
        d = json.loads(body)
        ok = status == 200 and bool(eval(expression, {"d": d}))
    except Exception as e:  # noqa: BLE001
        ok = False
        body = f"{body[:200]!r} ({type(e).__name__}: {e})".encode()
    if not ok and len(sys.argv) > 4:  # --verbose: say what was there
        print(f"status={status} body={body[:1500].decode(errors='replace')}", file=sys.stderr)
    sys.exit(0 if ok else 1)
PY

http_status() { python3 "$HTTP" status "$1"; }
http_check() { python3 "$HTTP" check "$@"; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_until <seconds> <command...>: polls the command every 0.1 s; 0 when it succeeds.
wait_until() {
  local seconds=$1
  shift
  local tries=$((seconds * 10)) i
  for ((i = 0; i < tries; i++)); do
    if "$@" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

health_is_200() { [[ "$(http_status "http://127.0.0.1:$1/master/health")" == 200 ]]; }

# ------------------------------------------------------------------------------------------
# Flags, without a cluster.

out="$TMP/master-help.txt"
rc=0
timeout 10 "$APPS/dcos-master" --help >"$out" 2>&1 || rc=$?
[[ $rc -eq 0 ]] || fail "dcos-master --help exited $rc"
grep -q -- '--port' "$out" || fail "dcos-master --help does not list --port"
grep -q -- '--work_dir' "$out" || fail "dcos-master --help does not list --work_dir"
pass "dcos-master --help exits 0 and lists --port and --work_dir"

out="$TMP/slave-bad-master.txt"
rc=0
timeout 10 "$APPS/dcos-slave" --master=nonsense --port="$(free_port)" --work_dir="$TMP/bad-agent" >"$out" 2>&1 || rc=$?
[[ $rc -ne 124 ]] || fail "dcos-slave --master=nonsense did not exit within 10 s"
[[ $rc -ne 0 ]] || fail "dcos-slave --master=nonsense exited 0"
[[ -s "$out" ]] || fail "dcos-slave --master=nonsense exited $rc without a message"
grep -qi 'master' "$out" || fail "dcos-slave --master=nonsense: message does not name the flag: $(head -c 300 "$out")"
pass "dcos-slave --master=nonsense exits $rc with: $(head -n 1 "$out")"

# ------------------------------------------------------------------------------------------
# A master and two agents.

MASTER_PORT=$(free_port)
MASTER="127.0.0.1:$MASTER_PORT"
"$APPS/dcos-master" --ip=127.0.0.1 --port="$MASTER_PORT" --work_dir="$TMP/master" >"$TMP/master.log" 2>&1 &
PIDS+=($!)
MASTER_PID=$!
wait_until 20 health_is_200 "$MASTER_PORT" || fail "dcos-master on port $MASTER_PORT did not answer /master/health within 20 s"
pass "dcos-master answers /master/health on port $MASTER_PORT"

AGENT_RESOURCES='cpus:2;mem:1024;disk:1024;ports:[31000-31100]'
for n in 1 2; do
  port=$(free_port)
  mkdir -p "$TMP/agent$n"
  "$APPS/dcos-slave" --master="$MASTER" --ip=127.0.0.1 --port="$port" --work_dir="$TMP/agent$n" \
    --resources="$AGENT_RESOURCES" >"$TMP/agent$n.log" 2>&1 &
  PIDS+=($!)
done

wait_until 20 http_check "http://$MASTER/master/slaves" 'len(d["slaves"]) == 2' ||
  fail "two agents did not register within 20 s: $(http_check "http://$MASTER/master/slaves" 'False' --verbose 2>&1 || true)"
pass "both dcos-slave processes registered (/master/slaves has 2 entries)"

http_check "http://$MASTER/master/state" \
  'len(d["slaves"]) == 2 and isinstance(d["frameworks"], list) and isinstance(d["completed_frameworks"], list)' --verbose ||
  fail "/master/state: expected 'slaves' with 2 entries and 'frameworks'/'completed_frameworks' lists"
pass "/master/state has 2 slaves and frameworks/completed_frameworks keys"

http_check "http://$MASTER/master/state" \
  'all(s["resources"]["cpus"] == 2 and s["resources"]["mem"] == 1024 and s["resources"]["ports"] == "[31000-31100]" and s["active"] for s in d["slaves"])' --verbose ||
  fail "/master/state: agents do not show --resources='$AGENT_RESOURCES' as active"
pass "/master/state shows both agents active with the --resources given"

http_check "http://$MASTER/metrics/snapshot" 'd["master/slaves_connected"] == 2' --verbose ||
  fail "/metrics/snapshot: expected master/slaves_connected == 2"
pass "/metrics/snapshot has master/slaves_connected == 2"

# ------------------------------------------------------------------------------------------
# dcos-execute.

out="$TMP/execute-echo.out"
rc=0
timeout 60 "$APPS/dcos-execute" --master="$MASTER" --command='echo hello' >"$out" 2>&1 || rc=$?
[[ $rc -ne 124 ]] || fail "dcos-execute --command='echo hello' did not finish within 60 s"
# (A task with an empty stdout and "exited with status 1" here means its fd 1/2 were closed at
# exec: binaries linked before commit 4af6e47 opened the sandbox stdout/stderr with O_CLOEXEC.)
[[ $rc -eq 0 ]] || fail "dcos-execute --command='echo hello' exited $rc, expected 0: $(tr '\n' ' ' <"$out")"
pass "dcos-execute --command='echo hello' exits 0"
task_id=$(sed -n "s/^Submitted task '\([^']*\)'.*/\1/p" "$out" | head -n 1)
[[ -n "$task_id" ]] || fail "dcos-execute did not print \"Submitted task '<id>'\": $(tr '\n' ' ' <"$out")"
stdout_file=$(find "$TMP/agent1" "$TMP/agent2" -path "*/executors/$task_id/runs/*/stdout" 2>/dev/null | head -n 1)
[[ -n "$stdout_file" ]] || fail "no sandbox stdout for task $task_id under the agents' work_dirs"
grep -qx 'hello' "$stdout_file" ||
  fail "task stdout $stdout_file does not contain hello (it holds: '$(head -c 200 "$stdout_file")')"
pass "task stdout ${stdout_file#"$TMP/"} contains hello"

out="$TMP/execute-exit3.out"
rc=0
timeout 60 "$APPS/dcos-execute" --master="$MASTER" --command='exit 3' >"$out" 2>&1 || rc=$?
[[ $rc -ne 124 ]] || fail "dcos-execute --command='exit 3' did not finish within 60 s"
[[ $rc -eq 3 ]] || fail "dcos-execute --command='exit 3' exited $rc, expected 3: $(tr '\n' ' ' <"$out")"
pass "dcos-execute --command='exit 3' exits 3"

http_check "http://$MASTER/master/state" \
  'len(d["frameworks"]) == 0 and len([f for f in d["completed_frameworks"] if f["name"] == "dcos-execute"]) == 2' --verbose ||
  fail "/master/state: expected the two finished dcos-execute frameworks in completed_frameworks and none active"
pass "/master/state lists the two dcos-execute frameworks as completed"

kill -0 "$MASTER_PID" 2>/dev/null || fail "dcos-master exited during the test"

# ------------------------------------------------------------------------------------------
# MESOS_* environment: honoured, and the command line wins.

ENV_PORT=$(free_port)
MESOS_PORT="$ENV_PORT" "$APPS/dcos-master" --ip=127.0.0.1 --work_dir="$TMP/master-env" >"$TMP/master-env.log" 2>&1 &
PIDS+=($!)
wait_until 20 health_is_200 "$ENV_PORT" ||
  fail "dcos-master with MESOS_PORT=$ENV_PORT did not answer /master/health on that port within 20 s"
pass "MESOS_PORT=$ENV_PORT is honoured by dcos-master"

ENV_PORT2=$(free_port)
CLI_PORT=$(free_port)
while [[ "$CLI_PORT" == "$ENV_PORT2" ]]; do CLI_PORT=$(free_port); done
MESOS_PORT="$ENV_PORT2" "$APPS/dcos-master" --ip=127.0.0.1 --port="$CLI_PORT" --work_dir="$TMP/master-cli" \
  >"$TMP/master-cli.log" 2>&1 &
PIDS+=($!)
wait_until 20 health_is_200 "$CLI_PORT" ||
  fail "dcos-master with MESOS_PORT=$ENV_PORT2 --port=$CLI_PORT did not answer on $CLI_PORT within 20 s"
status=$(http_status "http://127.0.0.1:$ENV_PORT2/master/health")
[[ "$status" == 000 ]] || fail "with MESOS_PORT=$ENV_PORT2 --port=$CLI_PORT, port $ENV_PORT2 answered $status too"
pass "--port=$CLI_PORT on the command line wins over MESOS_PORT=$ENV_PORT2"

if ((SKIPPED)); then echo "$SKIPPED known-bug checks skipped (SKIP_KNOWN_BUGS=1)"; fi
echo "$PASSED passed, 0 failed"
