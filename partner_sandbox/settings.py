"""The one settings object, built from CLI flags with PARTNER_SANDBOX_* environment variables as defaults."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from collections.abc import Mapping

from .domain.ratelimit import RatePolicy
from .resources import default_fixtures_path

ENV_PREFIX = "PARTNER_SANDBOX_"
WORKER_SETTINGS = "PARTNER_SANDBOX__WORKER_SETTINGS"  # the parent's settings, handed to worker processes
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    db: str = ".sandbox/sandbox.db"
    fixtures: Path = default_fixtures_path()
    public_url: str | None = None
    reset: bool = False
    validate_responses: bool = True
    log_level: str = "info"
    workers: int = os.cpu_count() or 1
    durability: str = "normal"
    webhook_attempts: int = 6
    webhook_backoff: float = 1.0
    webhook_timeout: float = 5.0
    webhook_hosts: str = ""  # comma-separated hosts deliveries may go to; empty: any
    rate_limit: str = "10000"  # requests a second per partner, or "production" (see RatePolicy)
    trusted_proxies: str = ""  # comma-separated proxies whose Forwarded / X-Forwarded-For count; empty: none
    qr_rotation_seconds: float = 45.0  # how long each image of the embedded page's QR flow lasts
    header_timeout: float = 10.0  # seconds a request head has to arrive whole (0: no limit)
    max_connections: int = 1000  # open connections a server process holds; past them, 503

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "fixtures": str(self.fixtures)})

    @classmethod
    def from_json(cls, text: str) -> Settings:
        data = json.loads(text)
        return cls(**{**data, "fixtures": Path(data["fixtures"])})

    @property
    def rate_policy(self) -> RatePolicy:
        return RatePolicy.parse(self.rate_limit)

    @property
    def webhook_host_set(self) -> frozenset[str]:
        """--webhook-hosts as a set of lower-case names; empty means any host."""
        return frozenset(h.strip().lower() for h in self.webhook_hosts.split(",") if h.strip())

    @property
    def base_url(self) -> str:
        """The public base URL links are built on: --public-url, else the listen address."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def process_settings() -> Settings:
    """The settings of this server process: `serve` hands them to its processes in WORKER_SETTINGS
    (defaults where there are none, as in a test's own app)."""
    text = os.environ.get(WORKER_SETTINGS)
    return Settings.from_json(text) if text else Settings()


def _env_bool(value: str, name: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise SystemExit(f"{name}={value!r}: expected one of {sorted(TRUE_WORDS | FALSE_WORDS - {''})}")


def add_serve_arguments(parser: argparse.ArgumentParser, env: Mapping[str, str] | None = None) -> None:
    """The `serve` flags; each one's default comes from its PARTNER_SANDBOX_* variable, if set."""
    env = os.environ if env is None else env
    defaults = Settings()

    def default(name: str, fallback):
        key = ENV_PREFIX + name.upper()
        if key not in env:
            return fallback
        if isinstance(fallback, bool):
            return _env_bool(env[key], key)
        return env[key]

    parser.add_argument("--host", default=default("host", defaults.host), help="address to listen on")
    parser.add_argument("--port", type=int, default=int(default("port", defaults.port)), help="port to listen on")
    parser.add_argument(
        "--db",
        default=default("db", defaults.db),
        help="SQLite database file, :memory: for a throwaway run, or postgresql://... for a database"
        " shared by several replicas (default: %(default)s)",
    )
    parser.add_argument(
        "--fixtures", type=Path, default=default("fixtures", defaults.fixtures), help="the sandbox world (YAML)"
    )
    parser.add_argument(
        "--public-url",
        default=default("public_url", defaults.public_url),
        help="public base URL of QR links (default: the listen address)",
    )
    parser.add_argument(
        "--reset",
        action=argparse.BooleanOptionalAction,
        default=default("reset", defaults.reset),
        help="re-seed the database from the fixtures at start-up",
    )
    parser.add_argument(
        "--validate-responses",
        action=argparse.BooleanOptionalAction,
        default=default("validate_responses", defaults.validate_responses),
        help="validate every response against the specs (default: on; the hot path validates its"
        " compiled response schema for about 1%% of its throughput)",
    )
    parser.add_argument("--log-level", default=default("log_level", defaults.log_level))
    parser.add_argument(
        "--durability",
        choices=["normal", "full"],
        default=default("durability", defaults.durability),
        help="normal: a link answered 200 survives a crash or kill -9 of the server; full: also a power"
        " loss (an fsync per write, slower). Default: %(default)s",
    )
    parser.add_argument(
        "--webhook-attempts",
        type=int,
        default=int(default("webhook_attempts", defaults.webhook_attempts)),
        help="delivery attempts of a webhook event before it is marked failed (default: %(default)s)",
    )
    parser.add_argument(
        "--webhook-backoff",
        type=float,
        default=float(default("webhook_backoff", defaults.webhook_backoff)),
        help="seconds before the first retry; doubled for each one after, with jitter (default: %(default)s)",
    )
    parser.add_argument(
        "--webhook-timeout",
        type=float,
        default=float(default("webhook_timeout", defaults.webhook_timeout)),
        help="seconds a webhook receiver has to answer (default: %(default)s)",
    )
    parser.add_argument(
        "--webhook-hosts",
        default=default("webhook_hosts", defaults.webhook_hosts),
        help="comma-separated host names webhooks may be delivered to, e.g. 127.0.0.1,localhost"
        " (default: any); a hosted sandbox should set it",
    )
    parser.add_argument(
        "--rate-limit",
        type=_rate_limit,
        default=default("rate_limit", defaults.rate_limit),
        help="N: requests a second per partner and server process, in bursts of as many (0 turns it off);"
        " 'production': the published limits, 30 a second per client IP with a burst of 10 more, on the"
        " Partner API, for the server as a whole (all workers and replicas) (default: %(default)s)",
    )
    parser.add_argument(
        "--trusted-proxies",
        type=_trusted_proxies,
        default=default("trusted_proxies", defaults.trusted_proxies),
        help="comma-separated addresses or networks (CIDR) of reverse proxies whose Forwarded or"
        " X-Forwarded-For header names the client for the per-IP limit (default: none, the socket's"
        " peer is the client)",
    )
    parser.add_argument(
        "--qr-rotation-seconds",
        type=_rotation,
        default=str(default("qr_rotation_seconds", defaults.qr_rotation_seconds)),
        help="seconds each QR image of the embedded page lasts before the next replaces it, on the"
        " partner's clock (default: %(default)s, as WhatsApp; the flow times out after 5 images)",
    )
    parser.add_argument(
        "--header-timeout",
        type=_non_negative(float),
        default=default("header_timeout", defaults.header_timeout),
        help="seconds a client has to send a request's head (line and headers) whole; a slower or idle"
        " one is answered 408 and closed (default: %(default)s; 0: no limit)",
    )
    parser.add_argument(
        "--max-connections",
        type=_non_negative(int),
        default=default("max_connections", defaults.max_connections),
        help="open connections each server process holds; each one past them is answered 503 and"
        " closed (default: %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(default("workers", defaults.workers)),
        help="server processes sharing the database (default: the machine's cores, %(default)s;"
        " always 1 with --db :memory:)",
    )


def _rate_limit(text: str) -> str:
    try:
        RatePolicy.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip().lower()


def _trusted_proxies(text: str) -> str:
    """Comma-separated addresses or networks (CIDR)."""
    for part in (p.strip() for p in text.split(",")):
        if part:
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{part!r} is not an IP address or network") from None
    return text


def _non_negative(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value >= 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{text} must be a finite number of 0 or more")
        return value

    return parse


def _rotation(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 1 <= seconds <= 3600:
        raise argparse.ArgumentTypeError(f"{text} is out of range: 1 to 3600 seconds")
    return seconds


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings(
        host=args.host,
        port=args.port,
        db=str(args.db),
        fixtures=Path(args.fixtures),
        public_url=args.public_url,
        reset=args.reset,
        validate_responses=args.validate_responses,
        log_level=args.log_level,
        workers=1 if str(args.db) == ":memory:" else max(1, args.workers),
        durability=args.durability,
        webhook_attempts=max(1, args.webhook_attempts),
        webhook_backoff=max(0.0, args.webhook_backoff),
        webhook_timeout=max(0.1, args.webhook_timeout),
        webhook_hosts=args.webhook_hosts,
        rate_limit=_rate_limit(str(args.rate_limit)),
        trusted_proxies=_trusted_proxies(str(args.trusted_proxies)),
        qr_rotation_seconds=args.qr_rotation_seconds,
        header_timeout=float(args.header_timeout),
        max_connections=max(1, int(args.max_connections)),
    )
