"""The load generator: wrk (compiled, from Debian) driven by generated Lua scripts.

Every POST carries its own Idempotency-Key (thread, run nonce, counter), a random body over the
seeded customers and SKUs, and that customer's access token (minted before the run by the local
issuer, so signing tokens costs wrk nothing while the API still verifies every one). An optional per-thread schedule (LuaJIT's ffi clock) holds the
offered rate, so two servers can be compared at the same offered load. `done` prints one JSON
line with the request count, errors and latency percentiles. Its CPU time is read from rusage.
"""

import json
import os
import resource
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

PERCENTILES = [1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9]

_CLOCK = """\
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_usec; } bench_tv; int gettimeofday(bench_tv *tv, void *tz); ]]
local tv = ffi.new("bench_tv")
local function now_ms() ffi.C.gettimeofday(tv, nil) return tonumber(tv.tv_sec) * 1000 + tonumber(tv.tv_usec) / 1000 end
local next_due = nil
function delay()
  if interval_ms == 0 then return 0 end
  local now = now_ms()
  next_due = (next_due or now) + interval_ms
  if next_due < now then next_due = now end
  return next_due - now
end
"""

_THREADS = """\
local threads = 0
function setup(thread) threads = threads + 1 thread:set("tid", threads) end
"""

_DONE = """\
function done(summary, latency, requests)
  local p = {}
  for _, q in ipairs({%(percentiles)s}) do p[#p + 1] = string.format('"%%s": %%d', q, latency:percentile(q)) end
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests": %%d, "duration_us": %%d, "errors": %%d, "non_2xx": %%d, "mean_us": %%.1f, "percentiles_us": {%%s}}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status, latency.mean, table.concat(p, ", ")))
end
"""

POST_ORDERS = """\
local counter = 0
local prefix = ""
local tokens = {}
function init(args)
  interval_ms = tonumber(args[2])
  prefix = args[1] .. "-" .. tostring(tid) .. "-"
  for line in io.lines(args[3]) do tokens[#tokens + 1] = line end
  math.randomseed(tid * 7919 + os.time())
end
function request()
  counter = counter + 1
  local customer = math.random(1, #tokens)
  local body = string.format('{"customer_id":"cust-%04d","currency":"EUR","items":[{"sku":"SKU-%04d","quantity":%d}]}',
    customer, math.random(1, 50), math.random(1, 3))
  return wrk.format("POST", "/api/orders", {["Content-Type"] = "application/json", ["Idempotency-Key"] = prefix .. counter,
    ["Authorization"] = "Bearer " .. tokens[customer]}, body)
end
"""

GET_PATHS = """\
local paths = {}
local owners = {}
local tokens = {}
local index = 0
function init(args)
  interval_ms = 0
  for line in io.lines(args[1]) do
    local path, owner = line:match("^(%S+)\t(%d+)$")
    paths[#paths + 1] = path
    owners[#owners + 1] = tonumber(owner)
  end
  for line in io.lines(args[2]) do tokens[#tokens + 1] = line end
  index = (tid * 7919) % #paths
end
function request()
  index = index % #paths + 1
  local owner = owners[index]
  if owner == 0 then return wrk.format("GET", paths[index]) end
  return wrk.format("GET", paths[index], {["Authorization"] = "Bearer " .. tokens[owner]})
end
"""


@dataclass
class Result:
    requests: int
    seconds: float
    errors: int
    non_2xx: int
    percentiles_ms: dict[float, float]
    cpu_seconds: float
    """User + system CPU of the wrk process."""
    box_cpu_seconds: float
    """CPU used by everything on the machine over the same interval."""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        return self.percentiles_ms[q]

    @property
    def cpu_share(self) -> float:
        """wrk's share of all CPU used on the box while it ran."""
        return self.cpu_seconds / self.box_cpu_seconds if self.box_cpu_seconds else 0.0


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("bench: no `wrk` on PATH: run `bash scripts/services.sh` (it installs Debian's wrk)")
    return found


def _box_cpu() -> float:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    idle = int(fields[3]) + int(fields[4])
    return (sum(int(f) for f in fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run(
    workdir: Path,
    url: str,
    script: str,
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
    args: list[str] | None = None,
) -> Result:
    body = _THREADS + _CLOCK + script + _DONE % {"percentiles": ", ".join(str(p) for p in PERCENTILES)}
    path = workdir / f"wrk-{uuid.uuid4().hex[:6]}.lua"
    path.write_text(body)
    command = [
        ensure_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(path),
        url,
        "--",
        *(args or []),
    ]
    before, box_before = resource.getrusage(resource.RUSAGE_CHILDREN), _box_cpu()
    began = time.monotonic()
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    elapsed = time.monotonic() - began
    after, box_after = resource.getrusage(resource.RUSAGE_CHILDREN), _box_cpu()
    lines = [line for line in output.stdout.splitlines() if line.startswith("WRKJSON ")]
    if output.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({output.returncode}): {output.stderr or output.stdout}")
    data = json.loads(lines[-1].removeprefix("WRKJSON "))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Result(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6 or elapsed,
        errors=data["errors"],
        non_2xx=data["non_2xx"],
        percentiles_ms={float(q): us / 1000 for q, us in data["percentiles_us"].items()},
        cpu_seconds=cpu,
        box_cpu_seconds=box_after - box_before,
    )


def post_orders(
    workdir: Path, base: str, tokens: Path, *, seconds: float, connections: int, rate: float = 0.0, threads: int = 2
) -> Result:
    """POST /api/orders; `rate` > 0 holds the offered load at that many requests per second."""
    interval = threads * 1000.0 / rate if rate > 0 else 0.0
    return run(
        workdir,
        base,
        POST_ORDERS,
        seconds=seconds,
        connections=connections,
        threads=threads,
        args=[uuid.uuid4().hex[:8], f"{interval:.3f}", str(tokens)],
    )


def get_paths(
    workdir: Path, base: str, paths: list[tuple[str, int]], tokens: Path, *, seconds: float, connections: int
) -> Result:
    """GET each path; `(path, n)` reads as customer n (1-based, its token), 0 without a token."""
    listing = workdir / "paths.txt"
    listing.write_text("".join(f"{path}\t{owner}\n" for path, owner in paths))
    return run(workdir, base, GET_PATHS, seconds=seconds, connections=connections, args=[str(listing), str(tokens)])
