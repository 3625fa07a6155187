"""``python -m loadtest --url URL --profile steady``: run Locust headless, keep its report.

Writes ``report.html``, ``stats_*.csv`` and ``summary.json`` under ``out/loadtest/<UTC time>/``
and exits 1 when an SLO broke or an order was lost (see ``loadtest/locustfile.py``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from loadtest.config import DEFAULT_CONFIG, ConfigError, load_config

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
REPO = LOCUSTFILE.parents[1]


def locust_command(url: str, profile: str, config: Path, out: Path, token_provider: str) -> list[str]:
    return [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", url,
        "--loadtest-profile", profile, "--loadtest-config", str(config), "--loadtest-token-provider", token_provider,
        "--html", str(out / "report.html"), "--csv", str(out / "stats"),
        "--loadtest-summary", str(out / "summary.json"),
        "--exit-code-on-error", "0",  # the SLOs decide, not a single failed request
        "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest", description=__doc__)
    parser.add_argument("--url", required=True, help="the stack's URL (its CloudFront domain) or a local API")
    parser.add_argument("--profile", default="steady", help="steady, ramp, flash-sale, smoke, or one of the config's")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--out", type=Path, default=Path("out/loadtest"))
    parser.add_argument("--token-provider", default="", help="package.module:function for signed-in users")
    args = parser.parse_args(argv)
    if not args.url.startswith(("http://", "https://")):
        parser.error(f"--url {args.url!r} must start with http:// or https://")
    try:
        load_config(args.config).stages(args.profile)
    except (ConfigError, ValueError) as err:
        print(f"load test: {err}", file=sys.stderr)
        return 2
    out = args.out / dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    print(f"load test: profile {args.profile} against {args.url}; report in {out}")
    command = locust_command(args.url.rstrip("/"), args.profile, args.config, out, args.token_provider)
    # The locustfile imports the loadtest package, so the repository root is on its path.
    env = os.environ | {"PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    return subprocess.call(command, env=env)


if __name__ == "__main__":
    sys.exit(main())
