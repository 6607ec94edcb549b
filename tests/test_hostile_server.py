"""Hostile clients on loopback against reabridge's server in REAPER (on the stand-in): the real client is still served.

Whatever another program on the machine sends -- no token, a wrong one, bytes that
are not UTF-8, absurd frame lengths, half frames, JSON of the wrong shape, deep
nesting, floods, bursts, connect-and-close storms -- every frame gets an error
answer or its connection is closed, the server's memory stays bounded, and the
real client (python-reapy's client in ``ReaperLink``) gets its answers.

"Promptly" below is a liveness bound, not a speed figure: the real client's
time-outs are set to ``PROMPT_S`` (the server answers in a few ticks; before these
fixes it never answered at all during a flood). Speed is measured outside the tests.
"""

from __future__ import annotations

import contextlib
import json
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO
from daemon_helpers import env, song

import bridge.session.live as live
from bridge.session.live import ReaperLink, ReaperUnavailableError
from tests.standin.host import StandIn
from tests.standin.reaper import VERSION

FAST = 0.005  # seconds between defer ticks (REAPER's are ~0.033)
PROMPT_S = 2.0  # the real client's time-outs in these tests
REASCRIPT = "reapy.reascript_api"


def _call(name: str, *args: Any, module: str = REASCRIPT) -> dict[str, Any]:
    return {"function": {"__callable__": True, "module_name": module, "name": name},
            "input": {"args": list(args), "kwargs": {}}}


@dataclass
class Reaper:
    """The stand-in with the server running, and what the tests need of it."""

    stand_in: StandIn
    resource: Path

    @property
    def port(self) -> int:
        return self.stand_in.port

    @property
    def token(self) -> str:
        return self.stand_in.token_file.read_text().strip()

    @property
    def server(self) -> Any:
        return self.stand_in.namespace["SERVER"]

    def limit(self, name: str) -> Any:
        return self.stand_in.namespace[name]

    def held(self) -> tuple[int, int]:
        """(connections, bytes buffered for them) as the server has them now."""
        assert self.stand_in.lock.acquire(timeout=PROMPT_S), "the server is stuck inside a tick"
        try:
            return len(self.server.connections), self.server.buffered
        finally:
            self.stand_in.lock.release()

    def log(self) -> str:
        path = self.resource / "reabridge" / "server.log"
        return path.read_text(encoding="utf-8") if path.exists() else ""


def _start(tmp: Path) -> StandIn:
    project, _ = song(tmp / "song", seconds=1.0)
    return StandIn(project, tmp / "REAPER", FAST).start()


@pytest.fixture
def reaper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Reaper]:
    """A fresh stand-in with the server running (the real client's time-outs set to PROMPT_S)."""
    monkeypatch.setattr(live, "TIMEOUT_S", PROMPT_S)
    monkeypatch.setattr(live, "CONNECT_TIMEOUT_S", PROMPT_S)
    stand_in = _start(tmp_path)
    yield Reaper(stand_in, tmp_path / "REAPER")
    stand_in.stop(save=False)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reaper]:
    """One stand-in for the many one-frame cases."""
    tmp = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(live, "TIMEOUT_S", PROMPT_S)
        patch.setattr(live, "CONNECT_TIMEOUT_S", PROMPT_S)
        stand_in = _start(tmp)
        yield Reaper(stand_in, tmp / "REAPER")
        stand_in.stop(save=False)


# -- a raw client ----------------------------------------------------------------------------------
def _connect(port: int, greeting: bool = True) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=PROMPT_S)
    if greeting:
        head = _exactly(sock, 8)
        assert len(head) == 8, "no greeting"
        assert _exactly(sock, int.from_bytes(head, "little")).startswith(b"('127.0.0.1'")
    return sock


def _send(sock: socket.socket, data: object) -> None:
    payload = data if isinstance(data, bytes) else json.dumps(data).encode()
    sock.sendall(len(payload).to_bytes(8, "little") + payload)


def _exactly(sock: socket.socket, size: int) -> bytes:
    """``size`` bytes, or fewer when the connection ends (MSG_WAITALL does not wait on a socket with a time-out)."""
    data = bytearray()
    while len(data) < size:
        got = sock.recv(min(size - len(data), 1 << 20))
        if not got:
            break
        data += got
    return bytes(data)


def _answer(sock: socket.socket) -> Any:
    """The next frame as JSON; None when the server closed the connection (or reset it)."""
    try:
        head = _exactly(sock, 8)
        if len(head) < 8:
            return None
        return json.loads(_exactly(sock, int.from_bytes(head, "little")))
    except ConnectionResetError:
        return None


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def _authenticated(reaper: Reaper) -> socket.socket:
    sock = _connect(reaper.port)
    _send(sock, {"token": reaper.token})
    assert _answer(sock)["type"] == "result"
    return sock


def _refused(sock: socket.socket, why: str) -> None:
    """The server answered ``why`` and closed the connection."""
    answer = _answer(sock)
    assert answer is not None, f"no answer (expected {why!r})"
    assert answer["type"] == "error" and why in answer["traceback"], answer
    assert _closed(sock)
    sock.close()


def _served(reaper: Reaper, calls: int = 2) -> None:
    """The real client connects, presents the token and gets its answers within PROMPT_S each."""
    link = ReaperLink.connect(reaper.resource)
    try:
        assert [link.reascript("GetAppVersion") for _ in range(calls)] == [VERSION] * calls
        assert link.reascript("CountTracks", 0) == 1
    finally:
        link.close()


class Attack:
    """Runs ``step`` in a thread, again and again, until stopped; counts what happened."""

    def __init__(self, step: Callable[[], str], per_second: float | None = None) -> None:
        self.step, self.per_second = step, per_second
        self.counts: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        started, n = time.monotonic(), 0
        while not self._stop.is_set():
            outcome = self.step()
            self.counts[outcome] = self.counts.get(outcome, 0) + 1
            n += 1
            if self.per_second:
                self._stop.wait(max(0.0, n / self.per_second - (time.monotonic() - started)))

    def __enter__(self) -> Attack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        assert not self._thread.is_alive()


# -- the token ---------------------------------------------------------------------------------------
#: wrong tokens, made from the real one (the first: what used to freeze the server through compare_digest)
BAD_TOKENS: list[tuple[str, Callable[[str], object]]] = [
    ("é", lambda t: "é"), ("é x 64", lambda t: "é" * 64), ("emoji", lambda t: "\U0001f600"),
    ("lone surrogate", lambda t: "\ud800"), ("token + é", lambda t: t[:-1] + "é"), ("empty", lambda t: ""),
    ("zeros", lambda t: "0" * 64), ("NULs", lambda t: "\x00" * 64), ("one more", lambda t: t + "x"),
    ("one less", lambda t: t[:-1]), ("upper case", lambda t: t.upper()), ("a space before", lambda t: " " + t),
    ("a number", lambda t: 5), ("a float", lambda t: 1.5), ("null", lambda t: None), ("true", lambda t: True),
    ("a list", lambda t: [t]), ("an object", lambda t: {"token": t}),
]


@pytest.mark.parametrize("make", [m for _, m in BAD_TOKENS], ids=[n for n, _ in BAD_TOKENS])
def test_a_bad_token_is_answered_and_closed_and_the_real_client_is_served(shared, make):
    sock = _connect(shared.port)
    _send(sock, {"token": make(shared.token)})
    _refused(sock, "no token or a wrong token")
    _served(shared, calls=1)


# -- frames before the token --------------------------------------------------------------------------
def _frame_bytes(length: int, body: bytes = b"") -> bytes:
    return length.to_bytes(8, "little") + body


_REQUEST = json.dumps(_call("GetAppVersion")).encode()
PRE_TOKEN = [
    ("length 0", _frame_bytes(0), "a frame of 0 bytes before the token"),
    ("length 513", _frame_bytes(513), "a frame of 513 bytes before the token (at most 512)"),
    ("length 2**63", _frame_bytes(1 << 63), f"a frame of {1 << 63} bytes before the token"),
    ("length 2**64-1", _frame_bytes((1 << 64) - 1), f"a frame of {(1 << 64) - 1} bytes before the token"),
    ("63 MB announced", _frame_bytes(63 << 20), f"a frame of {63 << 20} bytes before the token"),
    ("not UTF-8", _frame_bytes(4, b"\xff\xfe\x80\x00"), "a frame that is not JSON (not UTF-8 text)"),
    ("not JSON", _frame_bytes(5, b"hello"), "a frame that is not JSON"),
    ("half JSON", _frame_bytes(10, b'{"token": '), "a frame that is not JSON"),
    ("a long number", _frame_bytes(314, b'{"token": ' + b"9" * 303 + b"}"), "a number of 303 digits"),
    ("500 [ (fits)", _frame_bytes(500, b"[" * 250 + b"]" * 250), "no token or a wrong token"),
    ("a request first", _frame_bytes(len(_REQUEST), _REQUEST), "no token or a wrong token"),
]


@pytest.mark.parametrize(("name", "data", "why"), PRE_TOKEN, ids=[c[0] for c in PRE_TOKEN])
def test_before_the_token_only_one_small_frame_is_taken(shared, name, data, why):
    sock = _connect(shared.port)
    sock.sendall(data)
    _refused(sock, why)
    _served(shared, calls=1)


def test_a_big_frame_before_the_token_is_cut_off_after_its_length(shared):
    """100,000 nested '[' (what used to raise RecursionError in every tick) and a 63 MB upload: never read."""
    for body in (b"[" * 100_000, b"x" * (63 << 20)):
        sock = _connect(shared.port)
        with contextlib.suppress(OSError):  # the server closes it after the length: the rest has nowhere to go
            _send(sock, body)
        answer = _answer(sock)  # the answer, unless the unread rest made the close a reset
        assert answer is None or answer["traceback"].endswith(
            f"a frame of {len(body)} bytes before the token (at most 512)")
        assert _closed(sock)
        sock.close()
    _served(shared, calls=1)


# -- frames after the token ---------------------------------------------------------------------------
def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


GET = {"__callable__": True, "module_name": REASCRIPT, "name": "GetAppVersion"}
AFTER_TOKEN: list[tuple[str, object, str]] = [
    ("input [1, 2]", {"function": GET, "input": [1, 2]}, "input must be an object with args and kwargs"),
    ("input 7", {"function": GET, "input": 7}, "input must be an object"),
    ("input text", {"function": GET, "input": "args"}, "input must be an object"),
    ("args 5", {"function": GET, "input": {"args": 5}}, "args must be a list, not 5"),
    ("args text", {"function": GET, "input": {"args": "abc"}}, "args must be a list, not 'abc'"),
    ("args object", {"function": GET, "input": {"args": {"a": 1}}}, "args must be a list"),
    ("kwargs list", {"function": GET, "input": {"kwargs": [1]}}, "kwargs must be an object"),
    ("kwargs 5", {"function": GET, "input": {"kwargs": 5}}, "kwargs must be an object"),
    ("a list", [1, 2], "not a request: a list"),
    ("a number", 5, "not a request: 5"),
    ("null", None, "not a request: None"),
    ("text", "GetAppVersion", "not a request: 'GetAppVersion'"),
    ("true", True, "not a request"),
    ("no function", {"input": {"args": []}}, "not a request"),
    ("function list", {"function": [GET], "input": None}, "not a function reference: a list"),
    ("function number", {"function": 5, "input": None}, "not a function reference: 5"),
    ("name list", {"function": {**GET, "name": ["GetAppVersion"]}}, "not a function reference"),
    ("name object", {"function": {**GET, "name": {"GetAppVersion": 1}}}, "not a function reference"),
    ("module list", {"function": {**GET, "module_name": [REASCRIPT]}}, "not a function reference"),
    ("callable 1", {"function": {**GET, "__callable__": 1}}, "not a function reference"),
    ("extra key", {"function": {**GET, "__reapy__": True}}, "not a function reference"),
    ("long name", {"function": {**GET, "name": "x" * 10_000}}, "not allowed: reapy.reascript_api.xxx"),
    ("2**64", _call("GetTrack", 0, 1 << 64), "a number too large for REAPER"),
    ("-2**63-1", _call("GetTrack", 0, -(1 << 63) - 1), "a number too large for REAPER"),
    ("30 digits", b'{"function": %s, "input": {"args": [%s]}}' % (json.dumps(GET).encode(), b"1" * 30),
     "a number of 30 digits"),
    ("5000 digits", b'{"function": %s, "input": {"args": [%s]}}' % (json.dumps(GET).encode(), b"7" * 5000),
     "a number of 5000 digits"),
    ("args 40 deep", _call("GetAppVersion", json.loads(_nested(40))), "arguments nested too deep"),
    ("kwargs 40 deep", {"function": GET, "input": {"kwargs": {"a": json.loads(_nested(40))}}},
     "arguments nested too deep"),
    ("100,000 [", _nested(100_000)[:100_000], "a frame nested too deep"),
    ("100,000 objects", b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "a frame nested too deep"),
    ("nested in input", b'{"function": %s, "input": %s}' % (json.dumps(GET).encode(), _nested(100_000)),
     "a frame nested too deep"),
    ("not UTF-8", b"\xff" * 100, "a frame that is not JSON (not UTF-8 text)"),
    ("UTF-16", json.dumps(_call("GetAppVersion")).encode("utf-16"), "a frame that is not JSON"),
    ("truncated JSON", json.dumps(_call("GetAppVersion")).encode()[:-1], "a frame that is not JSON"),
    ("an object", _call("CountTracks", {"__reapy__": True, "class": "Project"}), "objects are not accepted"),
]


@pytest.mark.parametrize(("name", "request_", "why"), AFTER_TOKEN, ids=[c[0] for c in AFTER_TOKEN])
def test_a_malformed_request_is_answered_with_an_error_and_closed(shared, name, request_, why):
    sock = _authenticated(shared)
    _send(sock, request_)
    _refused(sock, why)
    _served(shared, calls=1)


@pytest.mark.parametrize(("name", "length", "why"), [
    ("length 0", 0, "a frame of 0 bytes (at most 67108864)"),
    ("length 2**63", 1 << 63, f"a frame of {1 << 63} bytes (at most 67108864)"),
    ("64 MB + 1", (64 << 20) + 1, f"a frame of {(64 << 20) + 1} bytes (at most 67108864)"),
])
def test_an_impossible_length_after_the_token_is_refused_at_once(shared, name, length, why):
    sock = _authenticated(shared)
    sock.sendall(length.to_bytes(8, "little"))
    _refused(sock, why)
    _served(shared, calls=1)


def test_well_formed_calls_with_wrong_arguments_are_answered_and_the_connection_stays(shared):
    sock = _authenticated(shared)
    for request in (_call("GetAppVersion", float("inf")), _call("CountTracks", "x", 2, None),
                    {"function": GET, "input": {"args": [], "kwargs": {"proj": 0}}}):
        _send(sock, request)
        answer = _answer(sock)
        assert answer["type"] == "error" and "TypeError" in answer["traceback"]
    for request in ({"function": GET, "input": None}, {"function": GET}, {"function": GET, "input": {"args": None}}):
        _send(sock, request)  # reapy sends "input": null when there is none
        assert _answer(sock) == {"type": "result", "value": VERSION}
    sock.close()


# -- floods, storms, bursts ---------------------------------------------------------------------------
def test_a_flood_of_bad_tokens_and_bad_frames_does_not_keep_the_real_client_waiting(reaper):
    """About 100 bad tokens a second (and deep nesting, non-UTF-8): the real client is answered every time."""
    token = json.dumps({"token": "é"}).encode()
    bad = [_frame_bytes(len(token), token), _frame_bytes(100_000, b"[" * 100_000), _frame_bytes(3, b"\xff\xfe\xfd")]
    turn = iter(range(1 << 30))

    def one() -> str:
        try:
            sock = socket.create_connection(("127.0.0.1", reaper.port), timeout=PROMPT_S)
            sock.sendall(bad[next(turn) % len(bad)])  # without waiting for the greeting
            sock.close()
            return "sent"
        except OSError:
            return "failed"

    most = 0
    with Attack(one, per_second=100) as attack:
        for _ in range(10):
            _served(reaper, calls=2)
            most = max(most, reaper.held()[1])
            time.sleep(0.1)
    assert attack.counts.get("sent", 0) > 100
    assert most <= reaper.limit("MAX_CONNECTIONS") * 1024  # a few hundred bytes per client at most
    log = reaper.log()
    assert "no token or a wrong token" in log and "a frame of 100000 bytes before the token" in log
    assert "more refusals in that second, not logged one by one" in log  # the log does not grow 100 lines a second


def test_eight_uploads_without_the_token_hold_a_few_hundred_bytes(reaper):
    """Eight clients each start a 63 MB frame without the token: the server reads 8 bytes of each and closes it."""
    outcomes: list[str] = []

    def upload(sock: socket.socket) -> None:
        try:
            sock.sendall(_frame_bytes(63 << 20) + b"x" * (63 << 20))
            outcomes.append("all sent")
        except OSError:
            outcomes.append("cut off")

    socks = [_connect(reaper.port) for _ in range(8)]
    threads = [threading.Thread(target=upload, args=(s,)) for s in socks]
    for t in threads:
        t.start()
    most = 0
    while any(t.is_alive() for t in threads):
        _served(reaper, calls=1)
        most = max(most, reaper.held()[1])
    for s in socks:
        s.close()
    assert outcomes == ["cut off"] * 8
    assert most <= 8 * 1024


def _rss_kb(pid: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def test_the_standin_process_memory_stays_flat_under_eight_big_uploads(tmp_path):
    """The issue's case, measured as the process's resident memory (it went from 27 MB to 500 MB)."""
    project, _ = song(tmp_path / "song", seconds=1.0)
    proc = subprocess.Popen([sys.executable, "-m", "tests.standin", str(project), "--resource-path",
                             str(tmp_path / "R")], cwd=REPO, stdout=subprocess.PIPE, text=True, env=env())
    try:
        port = json.loads(proc.stdout.readline())["port"]
        _, peak_before = _rss_kb(proc.pid)
        socks = [_connect(port) for _ in range(8)]

        def upload(sock: socket.socket) -> None:
            with contextlib.suppress(OSError):
                sock.sendall(_frame_bytes(63 << 20) + b"x" * (63 << 20))

        threads = [threading.Thread(target=upload, args=(s,)) for s in socks]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        _, peak_after = _rss_kb(proc.pid)
        for s in socks:
            s.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert peak_after - peak_before < 16 * 1024, (peak_before, peak_after)  # kB


def test_connect_and_close_storms_leave_nothing_behind(reaper):
    def one() -> str:
        try:
            sock = socket.create_connection(("127.0.0.1", reaper.port), timeout=PROMPT_S)
            if time.monotonic_ns() % 2:  # half of them reset (RST) instead of closing
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            return "done"
        except OSError:
            return "failed"

    with Attack(one) as attack:
        for _ in range(5):
            _served(reaper, calls=2)
    assert attack.counts.get("done", 0) > 100
    deadline = time.monotonic() + PROMPT_S
    while reaper.held()[0] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert reaper.held() == (0, 0)  # every one of them was noticed gone and dropped
    assert "tick failed" not in reaper.log()


def test_a_burst_of_fifty_connections_is_greeted_at_once_and_the_extra_ones_are_told_busy(reaper):
    """listen(8) used to leave 32 of 50 clients at the greeting for 20 s."""
    outcomes: list[str] = []

    def client() -> None:
        try:
            sock = _connect(reaper.port)  # greeting within PROMPT_S, or this fails
            _send(sock, {"token": reaper.token})
            answer = _answer(sock)
            if answer is not None and answer["type"] == "result":
                _send(sock, _call("GetAppVersion"))
                outcomes.append("served" if _answer(sock) == {"type": "result", "value": VERSION} else "wrong")
            elif answer is not None and "busy" in answer["traceback"]:
                outcomes.append("busy")
            else:
                outcomes.append(f"other: {answer}")
            sock.close()
        except OSError as exc:
            outcomes.append(f"failed: {exc!r}")

    threads = [threading.Thread(target=client) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    limit = reaper.limit("MAX_CONNECTIONS")
    assert sorted(set(outcomes)) in (["busy", "served"], ["served"]), outcomes
    assert len(outcomes) == 50 and outcomes.count("served") >= limit
    _served(reaper)


def test_idle_connections_without_the_token_make_room_for_the_real_client(reaper):
    """Connections that never present a token cannot lock the real client out: once they have waited
    TOKEN_GRACE_S, the oldest give way to newcomers, and each one told so ("busy")."""
    limit = reaper.limit("MAX_CONNECTIONS")
    idle = [_connect(reaper.port) for _ in range(limit + 8)]
    time.sleep(reaper.limit("TOKEN_GRACE_S") + 0.1)
    _served(reaper)
    assert reaper.held()[0] <= limit
    told = 0
    for sock in idle:
        if select.select([sock], [], [], 0)[0]:  # the server said something: "busy", and closed it
            _refused(sock, "busy")
            told += 1
        else:
            sock.close()
    assert told >= 8 + 1  # the 8 over the limit, and one for the real client


def test_when_every_place_is_taken_by_clients_with_the_token_a_newcomer_is_told_busy(reaper):
    limit = reaper.limit("MAX_CONNECTIONS")
    holders = [_authenticated(reaper) for _ in range(limit)]
    with pytest.raises(ReaperUnavailableError, match=r"busy \(too many connections\); try again in a moment"):
        ReaperLink.connect(reaper.resource)
    _send(holders[0], _call("GetAppVersion"))  # those connected are still served
    assert _answer(holders[0]) == {"type": "result", "value": VERSION}
    holders.pop().close()
    deadline = time.monotonic() + PROMPT_S
    while reaper.held()[0] >= limit and time.monotonic() < deadline:
        time.sleep(0.02)
    _served(reaper)  # a place came free
    for sock in holders:
        sock.close()


def test_slow_clients_without_the_token_are_dropped_at_the_deadline_and_a_slow_real_one_is_not(reaper):
    """Slowloris: a length then silence, half a token, nothing at all. A token sent a byte at a time still counts."""
    deadline_s = reaper.limit("TOKEN_DEADLINE_S")
    silent = [_connect(reaper.port) for _ in range(3)]
    half = [_connect(reaper.port) for _ in range(3)]
    for sock in half:
        sock.sendall(_frame_bytes(77, b'{"token": "'))
    header_only = [_connect(reaper.port) for _ in range(3)]
    for sock in header_only:
        sock.sendall(_frame_bytes(77)[:5])
    slow = _connect(reaper.port)
    token = json.dumps({"token": reaper.token}).encode()
    trickle = _frame_bytes(len(token), token)
    started = time.monotonic()
    for i, byte in enumerate(trickle):  # a byte at a time, over about a second
        slow.sendall(bytes([byte]))
        if i % 10 == 0:
            time.sleep(0.1)
    assert _answer(slow)["type"] == "result"
    while time.monotonic() - started < deadline_s + 0.3:
        _served(reaper, calls=1)
        assert reaper.held()[1] <= 16 * 1024
        time.sleep(0.2)
    for sock in silent + half + header_only:
        _refused(sock, f"no token within {deadline_s:g} s")
    _send(slow, _call("GetAppVersion"))  # the one with the token stays, however quiet
    assert _answer(slow) == {"type": "result", "value": VERSION}
    slow.close()
    assert "no token within" in reaper.log()


# -- clients with the token ---------------------------------------------------------------------------
def test_a_client_with_the_token_cannot_stall_the_others(reaper):
    """A 24 MB request read over several ticks, a 24 MB answer its client does not read, half a frame, and pipelined
    requests: the real client is answered meanwhile, and every one of them gets its due."""
    big = "x" * (24 << 20)
    uploader = _authenticated(reaper)
    done = threading.Event()

    def upload() -> None:
        _send(uploader, _call("SetExtState", "hostile", "big", big, False))
        done.set()

    thread = threading.Thread(target=upload)
    thread.start()
    while not done.is_set():
        _served(reaper, calls=1)
    thread.join()
    uploader.settimeout(30)
    assert _answer(uploader) == {"type": "result", "value": None}

    reader = _authenticated(reaper)
    _send(reader, _call("GetExtState", "hostile", "big"))
    time.sleep(0.2)  # the answer fills the socket's buffers; the client does not read it
    _served(reaper, calls=3)
    reader.settimeout(30)
    assert _answer(reader) == {"type": "result", "value": big}  # all of it, in order, once it reads

    stuck = _authenticated(reaper)
    stuck.sendall(_frame_bytes(1000, b"{"))
    _served(reaper, calls=3)

    pipelined = _authenticated(reaper)
    pipelined.sendall(b"".join(len(p).to_bytes(8, "little") + p for p in
                               (json.dumps(_call("CountTracks", 0)).encode() for _ in range(50))))
    _served(reaper, calls=1)
    assert [_answer(pipelined) for _ in range(50)] == [{"type": "result", "value": 1}] * 50
    for sock in (uploader, reader, stuck, pipelined):
        sock.close()


def test_a_malformed_request_is_logged(reaper):
    sock = _authenticated(reaper)
    _send(sock, {"function": GET, "input": [1, 2]})
    _refused(sock, "input must be an object")
    assert "input must be an object with args and kwargs, not a list" in reaper.log()


def test_the_server_in_reaper_uses_only_the_standard_library():
    """What runs inside REAPER imports nothing outside Python's standard library and reaper_python."""
    script = (REPO / "reaper_scripts" / "reabridge_server.py").read_text(encoding="utf-8")
    imports = {line.split()[1].split(".")[0] for line in script.splitlines()
               if line.startswith(("import ", "from "))}
    assert imports - {"reaper_python"} <= set(sys.stdlib_module_names), imports
    assert "threading" not in imports
