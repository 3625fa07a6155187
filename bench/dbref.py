"""The database's own ceiling for placement: pgbench running the API's placement statement.

The script is app/store/placement.py's statement with every bind parameter replaced by a
pgbench expression of the same kind (a fresh uuid, a random seeded customer and SKU, a unique
idempotency key), so PostgreSQL does exactly the work of one POST /api/orders.
"""

import re
import shutil
import subprocess
from pathlib import Path

from app.store.placement import PLACE_ORDER_SQL

ARGUMENTS = {
    "order_id": "gen_random_uuid()",
    "event_id": "gen_random_uuid()",
    "customer_id": "'cust-' || lpad(:customer::text, 4, '0')",
    "idempotency_key": "md5(random()::text || clock_timestamp()::text)",
    "request_hash": "md5('body')",
    "currency": "'EUR'",
    "topic": "'orders'",
    "occurred_at": "clock_timestamp()::text",
    "skus": "ARRAY['SKU-' || lpad(:sku::text, 4, '0')]",
    "quantities": "ARRAY[:quantity]",
}


def script() -> str:
    def substitute(match: re.Match[str]) -> str:
        return f"({ARGUMENTS[match.group(1)]})"

    statement = re.sub(r"(?<!:):(\w+)", substitute, PLACE_ORDER_SQL)
    # pgbench reads one statement per line unless it ends with a semicolon: join the lines.
    flat = " ".join(line.split("--")[0].strip() for line in statement.splitlines())
    return "\\set customer random(1, 100)\n\\set sku random(1, 50)\n\\set quantity random(1, 3)\n" + flat + ";\n"


def run(workdir: Path, dsn: str, *, clients: int, seconds: int, threads: int = 2) -> float:
    """Transactions per second (excluding connection setup)."""
    pgbench = shutil.which("pgbench")
    if pgbench is None:
        raise SystemExit("bench: no `pgbench` on PATH: install Debian's postgresql-contrib")
    path = workdir / "place_order.pgbench.sql"
    path.write_text(script())
    output = subprocess.run(
        [
            pgbench,
            "-n",
            "-M",
            "prepared",
            "-c",
            str(clients),
            "-j",
            str(threads),
            "-T",
            str(seconds),
            "-f",
            str(path),
            dsn,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", output.stdout)
    if output.returncode != 0 or found is None:
        raise RuntimeError(f"pgbench failed ({output.returncode}): {output.stderr or output.stdout}")
    return float(found.group(1))
