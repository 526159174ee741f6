#!/usr/bin/env python3
"""End-to-end test: drive `dcos-local` as "a Mesos v1 scheduler written by someone else".

Usage: python3 tests/e2e/foreign_client_test.py <build-dir>

Only the Python standard library is used, and nothing from this project: the RecordIO
decoder, the call bodies and the expectations are written from the wire rules in
reference/mesos-api.md sections 1.1-1.9 (Mesos 1.x v1 scheduler HTTP API, JSON).

Prints one line per check and ends with "<N> passed, <M> failed"; exits 1 if any failed.
Checks that fail because of known server bugs are reported but not counted as failures when
SKIP_KNOWN_BUGS=1 is set (see KNOWN_BUGS below; empty when the server has no known bugs).
"""

import base64
import copy
import http.client
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuidlib

TIMEOUT = 20.0          # seconds: every socket operation and every wait for an event
STREAM_TIMEOUT = 40.0   # the subscription socket idles up to one heartbeat (15 s) legitimately
API = "/api/v1/scheduler"

# Checks that fail because of a server bug that is known and reported; with SKIP_KNOWN_BUGS=1
# their failures are printed as "KNOWN BUG" and not counted. Map check name -> description.
KNOWN_BUGS = {}
SKIP_KNOWN_BUGS = os.environ.get("SKIP_KNOWN_BUGS") == "1"


class Abort(Exception):
    """A check whose failure makes the following checks meaningless."""


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"PASS  {name}", flush=True)
        elif SKIP_KNOWN_BUGS and name in KNOWN_BUGS:
            self.skipped += 1
            print(f"KNOWN BUG (skipped)  {name}: {detail} [{KNOWN_BUGS[name]}]", flush=True)
        else:
            self.failed += 1
            print(f"FAIL  {name}: {detail}", flush=True)
        return ok

    def require(self, name, ok, detail=""):
        if not self.check(name, ok, detail):
            raise Abort(name)


R = Results()


# --------------------------------------------------------------------------------------------
# Helpers


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def compact(obj):
    return json.dumps(obj, separators=(",", ":"))


class Master:
    """Plain HTTP to the master; non-streaming calls share one keep-alive connection."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def new_connection(self, timeout=TIMEOUT):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, fresh=False):
        """Returns (status, headers dict lower-cased, body bytes)."""
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = compact(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        for attempt in range(2):
            conn = self.new_connection() if fresh else self.conn
            if conn is None:
                conn = self.conn = self.new_connection()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                result = (response.status, {k.lower(): v for k, v in response.getheaders()}, data)
                if fresh or response.will_close:
                    conn.close()
                    if not fresh:
                        self.conn = None
                return result
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # An idle keep-alive connection the server closed: retry once on a new one.
                conn.close()
                if not fresh:
                    self.conn = None
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def get_json(self, path):
        status, _, data = self.request("GET", path, fresh=True)
        if status != 200:
            raise RuntimeError(f"GET {path} -> {status}")
        return json.loads(data)

    def call(self, body, stream_id=None, content_type="application/json", extra=None, fresh=False):
        headers = {}
        if content_type is not None:
            headers["Content-Type"] = content_type
        if stream_id is not None:
            headers["Mesos-Stream-Id"] = stream_id
        headers.update(extra or {})
        return self.request("POST", API, body=body, headers=headers, fresh=fresh)


EOF = object()  # queued by the reader when the stream ends


class Subscription:
    """A SUBSCRIBE connection whose RecordIO events are decoded on a background thread."""

    def __init__(self, master, framework_info, accept="application/json", framework_id=None):
        self.conn = master.new_connection(timeout=STREAM_TIMEOUT)
        call = {"type": "SUBSCRIBE", "subscribe": {"framework_info": framework_info}}
        if framework_id:
            call["framework_id"] = {"value": framework_id}
        headers = {"Content-Type": "application/json"}
        if accept is not None:
            headers["Accept"] = accept
        self.conn.request("POST", API, body=compact(call).encode(), headers=headers)
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.headers = {k.lower(): v for k, v in self.response.getheaders()}
        self.events = queue.Queue()
        self.history = []       # every event taken off the queue, in order
        self.end_reason = None  # how the stream ended
        self.thread = None
        if self.status == 200:
            self.thread = threading.Thread(target=self._read_loop, daemon=True)
            self.thread.start()
        else:
            self.body = self.response.read()
            self.conn.close()

    # RecordIO: "<decimal length>\n<exactly length bytes>", repeated; no trailing newline.
    def _read_exactly(self, n):
        data = b""
        while len(data) < n:
            chunk = self.response.read(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def _read_record(self):
        digits = b""
        while True:
            c = self.response.read(1)
            if not c:
                if digits:
                    raise ValueError(f"stream ended inside a record length ({digits!r})")
                return None
            if c == b"\n":
                break
            if not c.isdigit():
                raise ValueError(f"bad RecordIO length byte {c!r} after {digits!r}")
            digits += c
            if len(digits) > 20:
                raise ValueError("RecordIO length too long")
        if not digits:
            raise ValueError("empty RecordIO length")
        length = int(digits)
        data = self._read_exactly(length)
        if data is None:
            raise ValueError(f"stream ended inside a {length}-byte record")
        return data

    def _read_loop(self):
        try:
            while True:
                record = self._read_record()
                if record is None:
                    self.end_reason = "closed (end of chunked body)"
                    break
                self.events.put(json.loads(record))
        except http.client.IncompleteRead:
            self.end_reason = "closed (connection closed without the last chunk)"
        except socket.timeout:
            self.end_reason = "timeout"
        except Exception as e:  # noqa: BLE001 - report anything the decoder trips on
            self.end_reason = f"error: {type(e).__name__}: {e}"
        finally:
            self.events.put(EOF)

    def next(self, timeout=TIMEOUT):
        """The next event (or EOF), or None on timeout."""
        try:
            event = self.events.get(timeout=timeout)
        except queue.Empty:
            return None
        self.history.append(event)
        return event

    def wait_for(self, predicate, timeout=TIMEOUT, skip=None):
        """Takes events until one satisfies predicate; returns it, EOF, or None on timeout.
        Events that do not match are collected in `skip` (a list) if given."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            event = self.next(left)
            if event is None or event is EOF:
                return event
            if predicate(event):
                return event
            if skip is not None:
                skip.append(event)

    def close(self):
        try:
            if self.conn.sock is not None:
                self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()


def is_update(task_id, state=None):
    def predicate(event):
        if event.get("type") != "UPDATE":
            return False
        status = event.get("update", {}).get("status", {})
        if status.get("task_id", {}).get("value") != task_id:
            return False
        return state is None or status.get("state") == state
    return predicate


def brief(obj, limit=400):
    if obj is EOF:
        text = "<end of stream>"
    elif isinstance(obj, bytes):
        text = obj.decode(errors="replace")
    elif isinstance(obj, str):
        text = obj
    else:
        text = compact(obj)
    return text if len(text) <= limit else text[:limit] + "..."


def describe_uuid(value):
    """None if `value` is 24-char standard base64 of 16 bytes, else a reason."""
    if not isinstance(value, str):
        return f"uuid is {value!r}, not a string"
    if len(value) != 24:
        return f"uuid {value!r} has {len(value)} chars, expected 24"
    try:
        raw = base64.b64decode(value, validate=True)
    except Exception as e:  # noqa: BLE001
        return f"uuid {value!r} is not base64: {e}"
    if len(raw) != 16:
        return f"uuid {value!r} decodes to {len(raw)} bytes, expected 16"
    return None


# --------------------------------------------------------------------------------------------
# The scenario


def run(build_dir, work_dir, log_path):
    binary = os.path.join(build_dir, "apps", "dcos-local")
    R.require("dcos-local binary exists", os.access(binary, os.X_OK), binary)
    port = free_port()
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [binary, "--agents", "1", "--port", str(port), "--work_dir", work_dir],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        scenario(process, port)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def scenario(process, port):
    master = Master(port)

    # -- Cluster up: poll /master/slaves every 0.1 s for at most 20 s.
    deadline = time.monotonic() + 20
    agents, last_error = -1, None
    while time.monotonic() < deadline and process.poll() is None:
        try:
            agents = len(master.get_json("/master/slaves").get("slaves", []))
            if agents == 1:
                break
        except (OSError, RuntimeError, ValueError) as e:
            last_error = e
        time.sleep(0.1)
    R.require("dcos-local registers 1 agent within 20 s", agents == 1,
              f"agents={agents} exit={process.poll()} last_error={last_error}")

    user = os.environ.get("USER") or "root"
    framework_info = {"user": user, "name": "foreign-client", "failover_timeout": 0}

    # -- SUBSCRIBE.
    sub = Subscription(master, framework_info)
    stream_id = sub.headers.get("mesos-stream-id", "")
    R.require("SUBSCRIBE -> 200", sub.status == 200,
              f"status={sub.status} body={brief(getattr(sub, 'body', b''))}")
    R.check("SUBSCRIBE response has Mesos-Stream-Id of 36 chars",
            len(stream_id) == 36 and stream_id.count("-") == 4, f"Mesos-Stream-Id={stream_id!r}")
    R.check("SUBSCRIBE response Content-Type is application/json",
            sub.headers.get("content-type") == "application/json", f"headers={sub.headers}")
    R.check("SUBSCRIBE response is chunked without Content-Length",
            sub.headers.get("transfer-encoding", "").lower() == "chunked" and "content-length" not in sub.headers,
            f"headers={sub.headers}")

    first = sub.next()
    subscribed = (first or {}).get("subscribed", {}) if first is not EOF else {}
    framework_id = subscribed.get("framework_id", {}).get("value")
    R.require("first event is SUBSCRIBED with framework_id.value",
              first is not None and first is not EOF and first.get("type") == "SUBSCRIBED"
              and isinstance(framework_id, str) and framework_id != "",
              f"event={brief(first) if first is not None else 'none within 20 s'}")
    hb = subscribed.get("heartbeat_interval_seconds")
    R.check("SUBSCRIBED.heartbeat_interval_seconds is 15.0",
            isinstance(hb, (int, float)) and not isinstance(hb, bool) and hb == 15.0, f"value={hb!r}")
    master_info = subscribed.get("master_info")
    R.check("SUBSCRIBED carries master_info (id, ip, port, address)",
            isinstance(master_info, dict) and isinstance(master_info.get("id"), str)
            and isinstance(master_info.get("ip"), int) and master_info.get("port") == port
            and isinstance(master_info.get("address"), dict),
            f"master_info={brief(master_info)}")

    second = sub.next()
    R.check("second event is HEARTBEAT",
            second is not None and second is not EOF and second == {"type": "HEARTBEAT"},
            f"event={brief(second) if second is not None else 'none within 20 s'}")

    offers_event = second if (second not in (None, EOF) and second.get("type") == "OFFERS") else \
        sub.wait_for(lambda e: e.get("type") == "OFFERS")
    R.require("OFFERS event arrives", offers_event not in (None, EOF), f"got {brief(offers_event) if offers_event else 'nothing'}")
    nested = offers_event.get("offers")
    R.require("OFFERS is double-nested {\"offers\":{\"offers\":[...]}}",
              isinstance(nested, dict) and isinstance(nested.get("offers"), list) and len(nested["offers"]) >= 1,
              f"event={brief(offers_event)}")
    offer = nested["offers"][0]
    resources = offer.get("resources", [])
    cpus = next((r for r in resources if r.get("name") == "cpus"), None)
    mem = next((r for r in resources if r.get("name") == "mem"), None)
    R.require("offer resources are v1 Resource objects (cpus SCALAR, role \"*\")",
              cpus is not None and mem is not None and cpus.get("type") == "SCALAR"
              and isinstance(cpus.get("scalar", {}).get("value"), (int, float)) and cpus.get("role") == "*"
              and mem.get("type") == "SCALAR" and mem.get("role") == "*",
              f"resources={brief(resources)}")
    R.check("offer has id, framework_id, agent_id, hostname",
            isinstance(offer.get("id", {}).get("value"), str)
            and offer.get("framework_id", {}).get("value") == framework_id
            and isinstance(offer.get("agent_id", {}).get("value"), str)
            and isinstance(offer.get("hostname"), str),
            f"offer={brief(offer)}")
    agent_id = offer["agent_id"]["value"]
    offer_id = offer["id"]["value"]

    def call(body, sid=stream_id, **kw):
        return master.call(body, stream_id=sid, **kw)

    fid = {"value": framework_id}

    # -- ACCEPT with a LAUNCH of a command task, resources copied from the offer (v1 shape).
    task_id = "foreign-" + uuidlib.uuid4().hex[:8]
    task_cpus = copy.deepcopy(cpus)
    task_cpus["scalar"] = {"value": 0.1}
    task_mem = copy.deepcopy(mem)
    task_mem["scalar"] = {"value": 32.0}
    accept = {
        "framework_id": fid, "type": "ACCEPT",
        "accept": {
            "offer_ids": [{"value": offer_id}],
            "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{
                "name": "foreign-sleep", "task_id": {"value": task_id}, "agent_id": {"value": agent_id},
                "resources": [task_cpus, task_mem],
                "command": {"shell": True, "value": "sleep 30"}}]}}],
            "filters": {"refuse_seconds": 5.0}}}
    status, _, body = call(accept)
    R.require("ACCEPT with LAUNCH -> 202", status == 202, f"status={status} body={brief(body)}")

    def ack(update_event, name):
        st = update_event["update"]["status"]
        body = {"framework_id": fid, "type": "ACKNOWLEDGE",
                "acknowledge": {"agent_id": st.get("agent_id", {"value": agent_id}),
                                "task_id": st["task_id"], "uuid": st.get("uuid")}}
        code, _, text = call(body)
        R.check(name, code == 202, f"status={code} body={brief(text)}")

    for state in ("TASK_STARTING", "TASK_RUNNING"):
        event = sub.wait_for(is_update(task_id, state))
        R.require(f"UPDATE {state} for the launched task", event not in (None, EOF),
                  f"got {brief(event) if event is not None else 'nothing within 20 s'}; "
                  f"seen={brief([e for e in sub.history if e is not EOF][-5:])}")
        st = event["update"]["status"]
        problem = describe_uuid(st.get("uuid"))
        R.check(f"UPDATE {state} has a 24-char base64 uuid of 16 bytes", problem is None, problem or "")
        R.check(f"UPDATE {state} carries agent_id and source",
                st.get("agent_id", {}).get("value") == agent_id
                and st.get("source") in ("SOURCE_EXECUTOR", "SOURCE_AGENT"),
                f"status={brief(st)}")
        if problem is None:
            ack(event, f"ACKNOWLEDGE {state} -> 202")

    # -- Explicit reconciliation: answered by the master, no uuid.
    status, _, body = call({"framework_id": fid, "type": "RECONCILE", "reconcile": {"tasks": [
        {"task_id": {"value": task_id}, "agent_id": {"value": agent_id}}]}})
    R.check("explicit RECONCILE -> 202", status == 202, f"status={status} body={brief(body)}")
    event = sub.wait_for(is_update(task_id))
    st = event["update"]["status"] if event not in (None, EOF) else {}
    R.check("explicit RECONCILE -> UPDATE TASK_RUNNING, REASON_RECONCILIATION, no uuid",
            st.get("state") == "TASK_RUNNING" and st.get("reason") == "REASON_RECONCILIATION"
            and "uuid" not in st and st.get("source") == "SOURCE_MASTER",
            f"got {brief(event) if event is not None else 'nothing within 20 s'}")

    # -- Implicit reconciliation.
    status, _, body = call({"framework_id": fid, "type": "RECONCILE", "reconcile": {"tasks": []}})
    R.check("implicit RECONCILE -> 202", status == 202, f"status={status} body={brief(body)}")
    event = sub.wait_for(is_update(task_id))
    st = event["update"]["status"] if event not in (None, EOF) else {}
    R.check("implicit RECONCILE -> UPDATE for the running task, no uuid",
            st.get("state") == "TASK_RUNNING" and st.get("reason") == "REASON_RECONCILIATION" and "uuid" not in st,
            f"got {brief(event) if event is not None else 'nothing within 20 s'}")

    # -- Explicit reconciliation of a task the master never saw, on a registered agent: a
    # framework without PARTITION_AWARE gets TASK_LOST (reference §1.9).
    ghost = "ghost-" + uuidlib.uuid4().hex[:8]
    status, _, body = call({"framework_id": fid, "type": "RECONCILE", "reconcile": {"tasks": [
        {"task_id": {"value": ghost}, "agent_id": {"value": agent_id}}]}})
    R.check("explicit RECONCILE of an unknown task -> 202", status == 202, f"status={status} body={brief(body)}")
    event = sub.wait_for(is_update(ghost))
    st = event["update"]["status"] if event not in (None, EOF) else {}
    R.check("explicit RECONCILE of an unknown task -> UPDATE TASK_LOST, REASON_RECONCILIATION, no uuid",
            st.get("state") == "TASK_LOST" and st.get("reason") == "REASON_RECONCILIATION" and "uuid" not in st,
            f"got {brief(event) if event is not None else 'nothing within 20 s'}")

    # -- Status codes of /api/v1/scheduler.
    status, headers, body = master.request("GET", API, fresh=True)
    R.check("GET /api/v1/scheduler -> 405 with Allow: POST",
            status == 405 and headers.get("allow") == "POST", f"status={status} allow={headers.get('allow')!r}")

    revive = {"framework_id": fid, "type": "REVIVE"}
    status, _, body = call(revive, content_type=None, fresh=True)
    R.check("call without Content-Type -> 400", status == 400, f"status={status} body={brief(body)}")

    status, _, body = call(revive, content_type="application/json; charset=utf-8", fresh=True)
    R.check("Content-Type 'application/json; charset=utf-8' -> 415", status == 415,
            f"status={status} body={brief(body)}")

    status, _, body = call('{"type":"REVIVE","framework_id":{"value":', fresh=True)
    R.check("malformed JSON body -> 400", status == 400, f"status={status} body={brief(body)}")

    status, _, body = call({"type": "SUBSCRIBE", "subscribe": {"framework_info": framework_info}}, fresh=True)
    R.check("SUBSCRIBE carrying Mesos-Stream-Id -> 400", status == 400, f"status={status} body={brief(body)}")

    status, _, body = call(revive, sid=None, fresh=True)
    R.check("non-SUBSCRIBE call without Mesos-Stream-Id -> 400", status == 400,
            f"status={status} body={brief(body)}")

    status, _, body = call(revive, sid=str(uuidlib.uuid4()), fresh=True)
    R.check("call with a wrong Mesos-Stream-Id -> 400", status == 400, f"status={status} body={brief(body)}")

    status, _, body = call({"framework_id": {"value": framework_id + "-nope"}, "type": "REVIVE"},
                           sid=str(uuidlib.uuid4()), fresh=True)
    R.check("call for an unknown framework id -> 400", status == 400, f"status={status} body={brief(body)}")

    status, _, body = call({"framework_id": fid, "type": "ACKNOWLEDGE", "acknowledge": {
        "agent_id": {"value": agent_id}, "task_id": {"value": task_id}, "uuid": "jhadf73jhakdlfha723adf"}},
        fresh=True)
    R.check("ACKNOWLEDGE with uuid 'jhadf73jhakdlfha723adf' (not 16 bytes) -> 400", status == 400,
            f"status={status} body={brief(body)}")

    probe = Subscription(master, {"user": user, "name": "protobuf-only"}, accept="application/x-protobuf")
    if probe.status == 200:
        probe.close()
    R.check("SUBSCRIBE with Accept: application/x-protobuf only -> 406 (JSON-only server)",
            probe.status == 406, f"status={probe.status}")

    probe = Subscription(master, {"user": user, "name": "text-only"}, accept="text/plain")
    if probe.status == 200:
        probe.close()
    R.check("SUBSCRIBE with Accept: text/plain -> 406", probe.status == 406, f"status={probe.status}")

    status, _, body = call({"framework_id": fid, "type": "UNKNOWN"}, fresh=True)
    R.check("call of type UNKNOWN -> 501", status == 501, f"status={status} body={brief(body)}")

    status, _, body = call({"framework_id": fid, "type": "DECLINE", "decline": {
        "offer_ids": [{"value": framework_id + "-O-bogus"}], "filters": {"refuse_seconds": 1.0}}})
    R.check("DECLINE of a bogus offer id -> 202", status == 202, f"status={status} body={brief(body)}")

    # -- Subscriptions refused by FrameworkInfo validation: 200, one ERROR event, stream closed.
    for label, info in (
            ("'roles' without MULTI_ROLE", {"user": user, "name": "bad-roles", "roles": ["dev"]}),
            ("role '..'", {"user": user, "name": "bad-role", "role": ".."})):
        bad = Subscription(master, info)
        if not R.check(f"SUBSCRIBE with {label} -> 200", bad.status == 200,
                       f"status={bad.status} body={brief(getattr(bad, 'body', b''))}"):
            continue
        event = bad.next()
        R.check(f"SUBSCRIBE with {label} -> ERROR event with error.message",
                event not in (None, EOF) and event.get("type") == "ERROR"
                and isinstance(event.get("error", {}).get("message"), str) and event["error"]["message"] != "",
                f"event={brief(event) if event is not None else 'none within 20 s'}")
        end = bad.next()
        R.check(f"SUBSCRIBE with {label} -> stream closes after the ERROR",
                end is EOF and bad.end_reason is not None and bad.end_reason.startswith("closed"),
                f"next={brief(end) if end is not None else 'nothing within 20 s'} end={bad.end_reason}")
        bad.close()

    # The main subscription is still alive after all the refused calls.
    status, _, body = call(revive)
    R.check("REVIVE on the original stream still -> 202", status == 202, f"status={status} body={brief(body)}")

    # -- KILL -> TASK_KILLED (reliable: has a uuid, acknowledge it).
    status, _, body = call({"framework_id": fid, "type": "KILL", "kill": {
        "task_id": {"value": task_id}, "agent_id": {"value": agent_id}}})
    R.check("KILL -> 202", status == 202, f"status={status} body={brief(body)}")
    skipped = []
    event = sub.wait_for(is_update(task_id, "TASK_KILLED"), skip=skipped)
    R.check("KILL -> UPDATE TASK_KILLED", event not in (None, EOF),
            f"got {brief(event) if event is not None else 'nothing within 20 s'}; "
            f"other updates={brief([e for e in skipped if e.get('type') == 'UPDATE'])}")
    if event not in (None, EOF):
        problem = describe_uuid(event["update"]["status"].get("uuid"))
        R.check("UPDATE TASK_KILLED has a 16-byte uuid", problem is None, problem or "")
        if problem is None:
            ack(event, "ACKNOWLEDGE TASK_KILLED -> 202")

    # -- TEARDOWN -> 202 and the subscription stream ends.
    status, _, body = call({"framework_id": fid, "type": "TEARDOWN"})
    R.check("TEARDOWN -> 202", status == 202, f"status={status} body={brief(body)}")
    end = sub.wait_for(lambda e: False)
    R.check("subscription stream ends after TEARDOWN",
            end is EOF and sub.end_reason is not None and sub.end_reason.startswith("closed"),
            f"got {brief(end) if end is not None else 'no end within 20 s'} end={sub.end_reason}")
    sub.close()

    frameworks = master.get_json("/master/frameworks")
    completed = [f.get("id") for f in frameworks.get("completed_frameworks", [])]
    active = [f.get("id") for f in frameworks.get("frameworks", [])]
    R.check("torn-down framework is listed in completed_frameworks",
            framework_id in completed and framework_id not in active,
            f"frameworks={active} completed={completed}")

    operation_feedback(master, user)


def operation_feedback(master, user):
    """RESERVE with an operation id: UPDATE_OPERATION_STATUS (Mesos 1.8+ operation feedback)."""
    info = {"user": user, "name": "foreign-reserver", "role": "e2e", "principal": "ops", "failover_timeout": 0}
    sub = Subscription(master, info)
    R.require("SUBSCRIBE in role e2e -> 200", sub.status == 200, f"status={sub.status}")
    stream_id = sub.headers.get("mesos-stream-id", "")
    first = sub.next()
    framework_id = (first or {}).get("subscribed", {}).get("framework_id", {}).get("value") \
        if first not in (None, EOF) else None
    R.require("reserver SUBSCRIBED", isinstance(framework_id, str), f"event={brief(first)}")
    fid = {"value": framework_id}
    offers_event = sub.wait_for(lambda e: e.get("type") == "OFFERS")
    R.require("reserver gets an OFFERS event", offers_event not in (None, EOF), f"got {brief(offers_event)}")
    offer = offers_event["offers"]["offers"][0]
    agent_id = offer["agent_id"]["value"]
    cpus = next(r for r in offer["resources"] if r.get("name") == "cpus")
    reserve = copy.deepcopy(cpus)
    reserve["scalar"] = {"value": 0.5}
    reserve.pop("allocation_info", None)
    reserve["role"] = "e2e"
    reserve["reservation"] = {"principal": "ops"}
    status, _, body = master.call({
        "framework_id": fid, "type": "ACCEPT",
        "accept": {"offer_ids": [offer["id"]],
                   "operations": [{"type": "RESERVE", "id": {"value": "reserve-1"},
                                   "reserve": {"resources": [reserve]}}],
                   "filters": {"refuse_seconds": 1.0}}}, stream_id=stream_id)
    R.check("ACCEPT with RESERVE and an operation id -> 202", status == 202, f"status={status} body={brief(body)}")
    event = sub.wait_for(lambda e: e.get("type") == "UPDATE_OPERATION_STATUS")
    R.require("UPDATE_OPERATION_STATUS event arrives", event not in (None, EOF), f"got {brief(event)}")
    op_status = event.get("update_operation_status", {}).get("status", {})
    R.check("operation status: operation_id, OPERATION_FINISHED, agent_id",
            op_status.get("operation_id") == {"value": "reserve-1"} and op_status.get("state") == "OPERATION_FINISHED"
            and op_status.get("agent_id") == {"value": agent_id}, f"status={brief(op_status)}")
    uuid_message = op_status.get("uuid")
    problem = describe_uuid(uuid_message.get("value") if isinstance(uuid_message, dict) else uuid_message)
    R.check("operation status uuid is a UUID message {\"value\": <base64 of 16 bytes>}",
            isinstance(uuid_message, dict) and problem is None, problem or f"uuid={uuid_message!r}")
    listed = master.request("POST", "/api/v1", body={"type": "GET_OPERATIONS"},
                            headers={"Content-Type": "application/json", "Accept": "application/json"})
    operations = json.loads(listed[2] or b"{}").get("get_operations", {}).get("operations", []) \
        if listed[0] == 200 else None
    R.check("GET_OPERATIONS lists the unacknowledged operation",
            isinstance(operations, list) and len(operations) == 1
            and operations[0].get("info", {}).get("id") == {"value": "reserve-1"}, f"status={listed[0]} body={brief(listed[2])}")
    if isinstance(uuid_message, dict) and problem is None:
        status, _, body = master.call({
            "framework_id": fid, "type": "ACKNOWLEDGE_OPERATION_STATUS",
            "acknowledge_operation_status": {"agent_id": {"value": agent_id}, "operation_id": {"value": "reserve-1"},
                                             "uuid": uuid_message["value"]}}, stream_id=stream_id)
        R.check("ACKNOWLEDGE_OPERATION_STATUS -> 202", status == 202, f"status={status} body={brief(body)}")
    status, _, body = master.call({"framework_id": fid, "type": "RECONCILE_OPERATIONS",
                                   "reconcile_operations": {"operations": [
                                       {"operation_id": {"value": "never"}, "agent_id": {"value": agent_id}}]}},
                                  stream_id=stream_id)
    R.check("RECONCILE_OPERATIONS -> 202", status == 202, f"status={status} body={brief(body)}")
    event = sub.wait_for(lambda e: e.get("type") == "UPDATE_OPERATION_STATUS")
    answer = (event or {}).get("update_operation_status", {}).get("status", {}) if event not in (None, EOF) else {}
    R.check("RECONCILE_OPERATIONS of an unknown operation -> OPERATION_UNKNOWN without uuid",
            answer.get("operation_id") == {"value": "never"} and answer.get("state") == "OPERATION_UNKNOWN"
            and "uuid" not in answer, f"event={brief(event)}")
    sub.close()


def main():
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} <build-dir>", file=sys.stderr)
        return 2
    build_dir = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="dcos-foreign-client-")
    log_path = os.path.join(tmp, "dcos-local.log")
    try:
        run(build_dir, os.path.join(tmp, "work"), log_path)
    except Abort as e:
        print(f"ABORT: stopping after the failed check '{e}'", flush=True)
    except Exception as e:  # noqa: BLE001 - a crash of the test is a failure, not a traceback
        R.check("scenario ran without exceptions", False, f"{type(e).__name__}: {e}")
    finally:
        if R.failed:
            try:
                with open(log_path, "rb") as f:
                    tail = f.read()[-4000:].decode(errors="replace")
                print("---- last lines of dcos-local output ----\n" + tail + "\n----", flush=True)
            except OSError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)
    if R.skipped:
        print(f"{R.skipped} known-bug checks skipped (SKIP_KNOWN_BUGS=1)")
    print(f"{R.passed} passed, {R.failed} failed")
    return 1 if R.failed else 0


if __name__ == "__main__":
    sys.exit(main())
