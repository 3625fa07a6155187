"""The shop's load: users browse products (Zipf), place orders and wait for them to be final.

Run it through ``python -m loadtest`` (or ``make loadtest``), which passes the options below
and writes the report. Single-process Locust only: the order ledger lives in this process.
At the end every order the run placed is checked through the API, and the run's SLOs judged;
the exit code is 1 when any is broken (see :func:`loadtest.model.violations`).
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from gevent.pool import Pool
from locust import HttpUser, LoadTestShape, between, events
from locust.env import Environment

from loadtest.auth import TokenProvider, headers, load_provider
from loadtest.config import DEFAULT_CONFIG, LoadTestConfig, load_config
from loadtest.model import FINAL_STATUSES, Ledger, Zipf, results, stage_at, violations

log = logging.getLogger(__name__)
LEDGER = Ledger()
STATE: dict[str, Any] = {}
PLACE = "POST /api/orders"
SELF_CHECK_CONCURRENCY = 20


def options(environment: Environment) -> Any:
    parsed = environment.parsed_options
    if parsed is None:
        raise RuntimeError("the load test runs from the command line (python -m loadtest)")
    return parsed


def config() -> LoadTestConfig:
    loaded: LoadTestConfig = STATE["config"]
    return loaded


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--loadtest-profile", default="steady", help="a profile of the load test config")
    parser.add_argument("--loadtest-config", default=str(DEFAULT_CONFIG), help="the load test config file")
    parser.add_argument("--loadtest-summary", default="", help="where to write the verdict as JSON")
    parser.add_argument("--loadtest-token-provider", default="", help="package.module:function giving a bearer token")


@events.init.add_listener
def _configure(environment: Environment, **_: Any) -> None:
    opts = options(environment)
    loaded = load_config(Path(opts.loadtest_config))
    loaded.stages(opts.loadtest_profile)  # an unknown profile fails now, not mid-run
    STATE.update(config=loaded, tokens=load_provider(opts.loadtest_token_provider), zipf=Zipf(
        loaded.catalogue.products, loaded.catalogue.zipf_exponent
    ))  # fmt: skip
    weights = loaded.weights
    ShopUser.tasks = [browse] * weights.browse + [place_order] * weights.place_order
    ShopUser.wait_time = between(*loaded.think_seconds)


def browse(user: ShopUser) -> None:
    sku = f"SKU-{STATE['zipf'].draw(user.rng):04d}"
    user.client.get(f"/api/products/{sku}", name="GET /api/products/{sku}", headers=user.auth)


def place_order(user: ShopUser) -> None:
    c = config()
    key = uuid.uuid4().hex
    body = {
        # Signed in, the API takes the customer from the token; the body may not name another.
        **({} if user.auth else {"customer_id": user.customer_id}),
        "currency": c.catalogue.currency,
        "items": [
            {
                "sku": f"SKU-{STATE['zipf'].draw(user.rng):04d}",
                "quantity": user.rng.randint(1, c.catalogue.max_quantity),
            }
        ],
    }
    started = time.monotonic()
    order_id = None
    for _attempt in range(2):  # one retry, with the same key: the API answers it exactly once
        with user.client.post(
            "/api/orders", json=body, headers={"Idempotency-Key": key, **user.auth}, name=PLACE, catch_response=True
        ) as response:
            if response.status_code == 202:
                order_id = str(response.json()["id"])
                break
            response.failure(f"{response.status_code}: {response.text[:200]}")
    if order_id is None:
        return
    LEDGER.placed(order_id, key, started, user.customer_id)
    deadline = started + c.slo.order_final_within_seconds
    while time.monotonic() < deadline:
        time.sleep(c.poll_seconds)  # gevent's sleep: Locust patches time
        with user.client.get(
            f"/api/orders/{order_id}", name="GET /api/orders/{id}", headers=user.auth, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                continue
            status = str(response.json()["status"])
        LEDGER.observed(order_id, status, time.monotonic())
        if status in FINAL_STATUSES:
            return


class ShopUser(HttpUser):
    """A customer: one identity for the whole run, browsing and buying."""

    tasks: list[Any] = [browse, place_order]  # noqa: RUF012 (Locust's own attribute; the config's weights replace it)
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.rng = random.Random()
        self.customer_id = f"cust-{self.rng.randint(1, config().catalogue.customers):04d}"
        provider: TokenProvider = STATE["tokens"]
        self.auth = headers(provider(self.customer_id))


class ProfileShape(LoadTestShape):
    """Users over time, from the chosen profile's stages."""

    def tick(self) -> tuple[int, float] | None:
        profile = options(self.runner.environment).loadtest_profile if self.runner else "steady"
        return stage_at(config().stages(profile), self.get_run_time())


def self_check(host: str, timeout_seconds: float) -> None:
    """Ask the API about every order the run placed: final, still pending, or gone (404)."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=SELF_CHECK_CONCURRENCY)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    provider: TokenProvider = STATE["tokens"]

    def check(order_id: str) -> None:
        try:
            # As the customer who placed it, should the API come to check ownership.
            token = provider(LEDGER.orders[order_id].customer_id)
            response = session.get(f"{host}/api/orders/{order_id}", timeout=10, headers=headers(token))
        except Exception as exc:  # sign-in or the request failed: unknown this round, asked again
            log.debug("self-check of %s failed this round: %r", order_id, exc)
            return
        if response.status_code == 404:
            LEDGER.missing.add(order_id)
        elif response.status_code == 200:
            LEDGER.observed(order_id, str(response.json()["status"]), time.monotonic())

    pool = Pool(SELF_CHECK_CONCURRENCY)
    pool.map(check, list(LEDGER.orders))  # every order, including those already seen final
    deadline = time.monotonic() + timeout_seconds
    while LEDGER.outstanding() and time.monotonic() < deadline:
        time.sleep(0.5)
        pool.map(check, [o.order_id for o in LEDGER.outstanding()])


@events.test_stop.add_listener
def _verify(environment: Environment, **_: Any) -> None:
    c = config()
    waits = [o.placed_at + c.slo.order_final_within_seconds - time.monotonic() for o in LEDGER.outstanding()]
    self_check(str(environment.host).rstrip("/"), max([0.0, *waits]))
    place = environment.stats.get(PLACE, "POST")
    p99 = place.get_response_time_percentile(0.99) / 1000 if place.num_requests else None
    total = environment.stats.total
    verdict = results(LEDGER, requests=total.num_requests, failures=total.num_failures, p99=p99, slo=c.slo)
    STATE["verdict"] = (verdict, violations(verdict, c.slo))


@events.quitting.add_listener
def _exit_code(environment: Environment, **_: Any) -> None:
    if "verdict" not in STATE:
        return
    verdict, broken = STATE["verdict"]
    summary = {**vars(verdict), "error_rate": verdict.error_rate, "passed": not broken, "violations": broken}
    print("load test verdict: " + json.dumps(summary, indent=2))
    if options(environment).loadtest_summary:
        Path(options(environment).loadtest_summary).write_text(json.dumps(summary, indent=2) + "\n")
    environment.process_exit_code = 1 if broken else 0
