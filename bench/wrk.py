"""Load from ``wrk``: one run = one wrk process, pinned to the generator's cores.

Requests are POST bodies read from files by a generated Lua script, so any document
(up to the 1 MB hostile ones) is sent byte for byte; wrk's ``done`` hook prints the
figures as one JSON line, which is all this module parses.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.documents import Document
from bench.servers import Server

_MARKER = "BENCH_JSON "
_LUA = """
local paths = {%(paths)s}
local headers = {%(headers)s}
local prepared = {}
local counter = 0
local unique = %(unique)s

local forwarded = %(forwarded)s
local bodies = {}

function init(args)
  for index, path in ipairs(paths) do
    local handle = assert(io.open(path, "rb"))
    local body = handle:read("*a")
    handle:close()
    bodies[index] = body
    prepared[index] = wrk.format("POST", "/graphql", headers, body)
  end
end

function request()
  counter = counter + 1
  if forwarded then
    -- As if each request came through the trusted proxy from its own client address
    -- (198.18.0.0/15, the benchmarking range): per-address counters stay low.
    headers["X-Forwarded-For"] = string.format(
      "198.18.%%d.%%d", math.floor(counter / 250) %% 250, counter %% 250 + 1)
    return wrk.format("POST", "/graphql", headers, bodies[(counter - 1) %% #bodies + 1])
  end
  if unique and counter %% 4 == 0 then
    -- A new document text every time: exercises the bounded parser/validation caches.
    local query = string.format(
      '{"query":"query Unique%%d { me { id } }"}', counter * 7919 + math.random(1, 7918))
    return wrk.format("POST", "/graphql", headers, query)
  end
  return prepared[(counter - 1) %% #prepared + 1]
end

local threads = {}
local pause_ms = %(delay_ms)d
graphql_errors = 0

if pause_ms > 0 then
  -- Paced load: each connection waits this long before its next request.
  function delay()
    return pause_ms
  end
end

function setup(thread)
  table.insert(threads, thread)
end

if %(count_errors)s then
  -- Only when asked: a response hook makes wrk hand every body to Lua.
  function response(status, response_headers, body)
    if string.find(body, '"errors"', 1, true) then
      graphql_errors = graphql_errors + 1
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local answered_errors = 0
  for _, thread in ipairs(threads) do
    answered_errors = answered_errors + (thread:get("graphql_errors") or 0)
  end
  io.write(string.format(
    '%(marker)s{"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,"write":%%d,' ..
    '"status":%%d,"timeout":%%d,"p50_us":%%d,"p99_us":%%d,"mean_us":%%.1f,"max_us":%%d,' ..
    '"graphql_errors":%%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max, answered_errors))
end
"""


class WrkMissing(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    seconds: float
    errors: int
    non_2xx: int
    p50_ms: float
    p99_ms: float
    # Answers whose body holds "errors" (counted only for loads with count_graphql_errors).
    graphql_errors: int = 0

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass(frozen=True, slots=True)
class Load:
    """What one wrk run sends: documents (cycled), connections, seconds."""

    documents: tuple[Document, ...]
    connections: int
    seconds: int
    unique_every_fourth: bool = False
    # A different X-Forwarded-For client address on every request (for a server that
    # trusts 127.0.0.1 as its proxy).
    forwarded_for: bool = False
    # Count answers carrying GraphQL errors (a 200 with "errors" is still a failure).
    count_graphql_errors: bool = False
    # Milliseconds each connection waits before its next request (0: back to back).
    delay_ms: int = 0
    # One fixed client address for every request (X-Forwarded-For, for a server that
    # trusts 127.0.0.1 as its proxy): a single client, as its rate limit sees it.
    client_address: str | None = None


def find_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise WrkMissing(
            "wrk is not installed: run `apt-get install -y wrk` (Debian/Ubuntu) "
            "or re-run the bench as root to have it installed"
        )
    return path


class Wrk:
    """Runs wrk against one URL from ``cpus`` (a taskset list such as "0"), or unpinned."""

    def __init__(self, *, workdir: Path, cpus: str | None) -> None:
        self._binary = find_wrk()
        self._workdir = workdir
        self._cpus = cpus
        self._scripts: dict[tuple[str, ...], Path] = {}

    def start(self, server: Server, load: Load) -> subprocess.Popen[str]:
        """Start wrk against ``server`` (with its headers); collect with :meth:`finish`."""
        script = self._script(load, server.headers)
        command = [
            self._binary,
            "-t1",
            f"-c{load.connections}",
            f"-d{load.seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            server.url,
        ]
        if self._cpus is not None:
            command = ["taskset", "-c", self._cpus, *command]
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run(self, server: Server, load: Load) -> WrkResult:
        return self.finish(self.start(server, load), load)

    def finish(self, process: subprocess.Popen[str], load: Load) -> WrkResult:
        try:
            stdout, stderr = process.communicate(timeout=load.seconds + 30)
        except subprocess.TimeoutExpired:
            process.kill()  # ours, by its own handle: never leave a generator running
            process.communicate()
            raise
        for line in stdout.splitlines():
            if line.startswith(_MARKER):
                values = json.loads(line.removeprefix(_MARKER))
                if values["requests"] == 0:
                    # No request completed within the run: there is no latency to report.
                    values["p50_us"] = values["p99_us"] = math.nan
                return WrkResult(
                    requests=values["requests"],
                    seconds=values["duration_us"] / 1e6,
                    errors=values["connect"] + values["read"] + values["write"] + values["timeout"],
                    non_2xx=values["status"],
                    p50_ms=values["p50_us"] / 1000,
                    p99_ms=values["p99_us"] / 1000,
                    graphql_errors=values["graphql_errors"],
                )
        raise RuntimeError(f"wrk gave no figures (exit {process.returncode}): {stderr.strip()}")

    def _script(self, load: Load, headers: dict[str, str]) -> Path:
        all_headers = {"Content-Type": "application/json", **headers}
        if load.client_address is not None:
            all_headers["X-Forwarded-For"] = load.client_address
        header_table = ", ".join(
            f"[{json.dumps(name)}] = {json.dumps(value)}" for name, value in all_headers.items()
        )
        key = (
            *(document.name for document in load.documents),
            str(load.unique_every_fourth),
            str(load.forwarded_for),
            str(load.count_graphql_errors),
            str(load.delay_ms),
            header_table,
        )
        if key not in self._scripts:
            paths = []
            for document in load.documents:
                path = self._workdir / f"{document.name}.json"
                path.write_bytes(document.body)
                paths.append(json.dumps(str(path)))
            script = self._workdir / f"load-{len(self._scripts)}.lua"
            script.write_text(
                _LUA
                % {
                    "paths": ", ".join(paths),
                    "headers": header_table,
                    "marker": _MARKER,
                    "unique": "true" if load.unique_every_fourth else "false",
                    "forwarded": "true" if load.forwarded_for else "false",
                    "count_errors": "true" if load.count_graphql_errors else "false",
                    "delay_ms": load.delay_ms,
                }
            )
            self._scripts[key] = script
        return self._scripts[key]
