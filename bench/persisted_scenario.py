"""``persisted_operation``: the tickets page sent as a persisted operation (issue 10).

The document is the tickets page (``tickets(first: 20) { edges { node { subject requester
{ displayName } comments(first: 5) { body } } } }``) under an operation name of its own,
bench/documents.TICKETS_PERSISTED, allowlisted at seed time (bench/seed.py,
``operations.allowlist.register``) for the audience of the agent the bench injects,
``role:agent``. Only that text is listed: the other scenarios' TICKETS stays an ordinary
text (the product keeps listed documents prepared, text requests included). The
servers run the product's default mode (``off``), which serves a known id to every
caller its entry names. "By id" is the POST body ``{"extensions": {"persistedQuery":
{"version": 1, "sha256Hash": <SHA-256 hex of the text>}}}``, with no ``query``; every
answer timed here is checked to be the full page.

1. **Throughput, warm caches**: one server started for the scenario, both bodies warmed
   up, then wrk (16 connections) interleaved over ``plan.rounds``: A = the text
   (``{"query": TICKETS_PERSISTED}``), B = its id. Target (issue 10, "at least as fast as
   the same query sent as text with warm caches"): median per-round B/A req/s >= 1.0. As
   for every other target of the suite, the issue's number is used as written, with no
   noise tolerance; this VM moves by 5-10 % between runs, so read a median just under 1
   with its range (and re-run) before calling the id path slower.
2. **First call after a restart** (issue 10, "its first call as fast as its hundredth,
   no cold parse after a restart"): per round (``plan.restart_rounds``), a freshly
   started server per side, the sides in alternating order as ``interleave`` runs them.
   The bench process (pinned to the load generator's CPU) opens one keep-alive
   connection, sends 100 warm-up requests of *other* documents, 20 ``me`` then 80 of
   the tickets page under a third operation name (``tickets_warm_up``: the same
   resolvers, SQL and rows, but a text of its own), so that what any first request pays
   (imports, connections, first use of the ticket resolvers and loaders) is paid, then
   times 100 calls of the side's document back to back. The warm-up ends with tickets
   pages back to back because a warm-up alternating ``me`` and tickets left the first
   timed call of an already-warm document 1.2-3x the later ones (the server's own
   access-log durations agreed): a change of rhythm, not a cold document. The last
   ``SETTLING_CALLS`` warm-up requests are sent after the bench process's own garbage
   collection (held off while it times): that collection left the server idle for a few
   ms right before call 1, and call 1 then took 1.5-1.7x calls 91-100 with nothing cold
   in it (2026-12-05, PostgreSQL, by id: 1.64-1.73 with the gap, 0.99 [0.93-1.06]
   without it, the control 1.37; in process, with no gap, call 1 by id = calls 2-30).
   Figure per round: A = median of calls 91-100, B = call 1; B/A = first / hundredth. The times
   are the server's own (``duration_ms`` of its access log: every layer of the app,
   none of the client's or the network's jitter); the client's view is in the notes.

   - *by id*: target first/hundredth <= 1.25 (the issue says "as fast"; the 25 % is
     for noise). One warm call on this VM varies widely: the notes give, per round, the
     10th-90th percentile of calls 2-100 against calls 91-100 (0.6-1.7 in the runs of
     2026-12-02, another test suite running) and the calls over twice as slow (server
     pauses: full garbage collections). The median over 5-7 rounds narrows that to
     roughly ± 15-20 %, so a tighter bound would report noise as a miss. A cold parse,
     validation and cost plan of this document costs a few ms, +10-40 % of a call (the
     control's median was 1.08 and 1.38 in two runs that day), so the line catches a
     first call that pays clearly more than the steady ones, but alone cannot tell a
     cold parse from noise: compare the two figures' call 1 columns, and the notes'
     cross-check, call 1 against calls 2-11, which drift less than calls 91-100.
   - *new text* (the control, no target): the ordinary TICKETS text, on no allowlist
     and never sent to the fresh server, so call 1 parses, validates and plans its
     cost; this shows what the measurement sees of a cold parse.
"""

from __future__ import annotations

import contextlib
import gc
import http.client
import json
import os
import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from api.edge.request_id import ACCESS_LOG_EVENT
from bench.context import Bench, answer
from bench.documents import Document
from bench.scenario_support import ScenarioError, check_tickets, load_figures
from bench.servers import HOST, Server
from bench.stats import Figure, at_least, at_most, interleave

THROUGHPUT_TARGET = 1.0
FIRST_CALL_TARGET = 1.25
AS_TEXT = "tickets_persisted"
BY_ID = "tickets_by_id"
NEW_TEXT = "tickets"  # on no allowlist: the control
# Before the timed calls, in this order: the last ones back to back, in the rhythm of the
# timed calls (a warm-up alternating `me` and tickets left the first timed call of even an
# already-warm document 1.2-3x the later ones).
WARM_UP = (("me", 20), ("tickets_warm_up", 80))
TIMED_CALLS = 100
SETTLING_CALLS = 5  # the warm-up's last calls, sent after the bench's own collection
SETTLED_CALLS = slice(90, 100)  # calls 91-100: "the hundredth", as a median of ten
NEXT_CALLS = slice(1, 11)  # calls 2-11, for the notes' cross-check
PAUSE_RATIO = 2.0  # a later call this much slower than calls 91-100: a server pause


def persisted_operation(bench: Bench) -> list[Figure]:
    return [*_throughput(bench), *_first_calls(bench)]


def _throughput(bench: Bench) -> list[Figure]:
    with bench.extra_product(1, bench.placement.server, name="product-persisted") as server:
        check_tickets(answer(server, bench.documents[AS_TEXT]))
        check_tickets(answer(server, bench.documents[BY_ID]))
        bench.warm_up(server, AS_TEXT)
        bench.warm_up(server, BY_ID)
        as_text, by_id = bench.load(AS_TEXT), bench.load(BY_ID)
        a, b = interleave(
            bench.plan.rounds,
            lambda: bench.measure(server, as_text),
            lambda: bench.measure(server, by_id),
        )
    figures = load_figures("tickets(20), persisted", "as text", "by id", a, b)
    figures[0].target = at_least(figures[0].ratios, THROUGHPUT_TARGET)
    operation = bench.seed.get("persisted_operations") or [{}]
    figures[0].notes.append(
        f"one server, warm caches; by id = extensions.persistedQuery only, sha256 "
        f"{str(operation[0].get('sha256', '?'))[:12]}…, audiences {operation[0].get('audiences')}"
    )
    return figures


@dataclass(frozen=True, slots=True)
class FirstCalls:
    """The timed calls of one freshly started server, in ms, in the order sent: as the
    server's access log measured them (``duration_ms``: every layer of the app, none of
    the client's or the network's jitter), and as the client saw them."""

    latencies_ms: list[float]
    client_ms: list[float]

    @property
    def client_ratio(self) -> float:
        """Call 1 against calls 91-100, as the client timed them."""
        return self.client_ms[0] / statistics.median(self.client_ms[SETTLED_CALLS])

    @property
    def first_ms(self) -> float:
        return self.latencies_ms[0]

    @property
    def settled_ms(self) -> float:
        return statistics.median(self.latencies_ms[SETTLED_CALLS])

    @property
    def next_calls_ratio(self) -> float:
        """Call 1 against the median of calls 2-11: the calls right after it, so less of
        the drift a shared machine adds over the 100 calls."""
        return self.first_ms / statistics.median(self.latencies_ms[NEXT_CALLS])

    def later_ratios(self) -> list[float]:
        """Calls 2-100 against calls 91-100, in order."""
        return [latency / self.settled_ms for latency in self.latencies_ms[1:]]

    def noise(self) -> str:
        """The spread of one warm call, as the notes show it: 10th-90th percentile of
        calls 2-100 against calls 91-100, without pauses (calls over twice as slow)."""
        ratios = self.later_ratios()
        steady = [ratio for ratio in ratios if ratio <= PAUSE_RATIO]
        deciles = statistics.quantiles(steady, n=10)
        return f"{deciles[0]:.2f}-{deciles[-1]:.2f}"

    def pauses(self) -> int:
        return sum(ratio > PAUSE_RATIO for ratio in self.later_ratios())


def _first_calls(bench: Bench) -> list[Figure]:
    new_text, by_id = interleave(
        bench.plan.restart_rounds,
        lambda: _after_restart(bench, bench.documents[NEW_TEXT]),
        lambda: _after_restart(bench, bench.documents[BY_ID]),
    )
    persisted = _first_call_figure("tickets(20) by id, fresh server", by_id)
    persisted.target = at_most(persisted.ratios, FIRST_CALL_TARGET)
    control = _first_call_figure("tickets(20) new text, fresh server (control)", new_text)
    control.notes.append(
        "control, no target: a text on no allowlist that the server has never seen "
        "(call 1 parses, validates and plans its cost)"
    )
    return [persisted, control]


def _first_call_figure(scenario: str, rounds: list[FirstCalls]) -> Figure:
    figure = Figure(
        scenario,
        "time in the server, 1 keep-alive conn",
        "ms",
        "calls 91-100 (median)",
        "call 1",
        [calls.settled_ms for calls in rounds],
        [calls.first_ms for calls in rounds],
    )
    figure.notes.append(
        f"after warm-up requests {' then '.join(f'{n} x {name}' for name, n in WARM_UP)}; one "
        "warm call's noise per round, calls 2-100 / calls 91-100 (10th-90th percentile): "
        f"{[calls.noise() for calls in rounds]}; calls 2-100 over {PAUSE_RATIO:g}x calls "
        f"91-100 (pauses): {[calls.pauses() for calls in rounds]}"
    )
    client = [calls.client_ratio for calls in rounds]
    figure.notes.append(
        "timed by the access log's duration_ms; as the client timed them, call 1 / calls "
        f"91-100 per round: {[round(r, 2) for r in client]}, median "
        f"{statistics.median(client):.2f}"
    )
    ratios = [calls.next_calls_ratio for calls in rounds]
    figure.notes.append(
        f"cross-check, call 1 / calls 2-11 (median) per round: {[round(r, 2) for r in ratios]}, "
        f"median {statistics.median(ratios):.2f}"
    )
    return figure


def _after_restart(bench: Bench, document: Document) -> FirstCalls:
    """``document`` called ``TIMED_CALLS`` times on a server started for this, after the
    warm-up documents; every answer is checked once the timings are taken."""
    warm_up = [bench.documents[name] for name, count in WARM_UP for _ in range(count)]
    with (
        bench.extra_product(
            1, bench.placement.server, name=f"product-restart-{document.name}"
        ) as server,
        _pinned(bench.placement.generator),
        _keep_alive(server) as client,
    ):
        for warm_up_document in warm_up[:-SETTLING_CALLS]:
            _check_answered(client.call(warm_up_document.body))
        local_address = client.local_address()
        settling = [warm_up_document.body for warm_up_document in warm_up[-SETTLING_CALLS:]]
        calls = client.timed_calls(document.body, TIMED_CALLS, after=settling)
        if client.local_address() != local_address:
            raise ScenarioError(f"{server.name} did not keep the connection open")
    for call in calls:
        check_tickets(_check_answered(call))
    return FirstCalls(_server_durations(server, len(calls)), [call.milliseconds for call in calls])


def _server_durations(server: Server, count: int) -> list[float]:
    """``duration_ms`` of the last ``count`` /graphql requests in the server's access log
    (the product flushes each line as it logs it)."""
    if server.log is None:
        raise ScenarioError(f"{server.name} has no log to read the request durations from")
    durations: list[float] = []
    for line in server.log.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        if event.get("event") == ACCESS_LOG_EVENT and event.get("path") == "/graphql":
            durations.append(float(event["duration_ms"]))
    if len(durations) < count:
        raise ScenarioError(f"{server.name}'s access log holds {len(durations)} requests")
    return durations[-count:]


@dataclass(frozen=True, slots=True)
class Call:
    milliseconds: float
    status: int
    body: bytes


@dataclass(slots=True)
class KeepAliveClient:
    """One HTTP/1.1 connection to ``server``, reused for every call (as a client would)."""

    server: Server
    connection: http.client.HTTPConnection

    def call(self, body: bytes) -> Call:
        headers = {"Content-Type": "application/json", **self.server.headers}
        started = time.perf_counter()
        self.connection.request("POST", "/graphql", body=body, headers=headers)
        response = self.connection.getresponse()
        content = response.read()
        return Call((time.perf_counter() - started) * 1000, response.status, content)

    def timed_calls(self, body: bytes, count: int, *, after: Sequence[bytes]) -> list[Call]:
        """``count`` calls back to back, with the bench process's collector held off (its
        pauses would be counted as the server's), right after the untimed calls
        ``after`` (the collection before them leaves the server idle for a while: they,
        not the first timed call, come after that gap)."""
        gc.collect()
        gc.disable()
        try:
            for earlier in after:
                _check_answered(self.call(earlier))
            return [self.call(body) for _ in range(count)]
        finally:
            gc.enable()

    def local_address(self) -> object:
        socket = self.connection.sock
        return None if socket is None else socket.getsockname()


@contextlib.contextmanager
def _keep_alive(server: Server) -> Iterator[KeepAliveClient]:
    connection = http.client.HTTPConnection(HOST, server.port, timeout=30)
    try:
        yield KeepAliveClient(server, connection)
    finally:
        connection.close()


@contextlib.contextmanager
def _pinned(cpus: str | None) -> Iterator[None]:
    """The bench process on ``cpus`` (the load generator's, off the server's core) while
    it times calls; unpinned again afterwards."""
    if cpus is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {int(cpu) for cpu in cpus.split(",")})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _check_answered(call: Call) -> dict[str, object]:
    decoded: dict[str, object] = json.loads(call.body)
    if call.status != 200 or decoded.get("errors") or not decoded.get("data"):
        raise ScenarioError(f"not answered with data ({call.status}): {call.body[:300]!r}")
    return decoded
