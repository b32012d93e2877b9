"""The production topology on one machine, for benchmarks and tests: Varnish (deploy/varnish,
the shipped VCL) in front of one or two app servers as `make serve` runs them (bench.server),
sharing Redis and reaching PostgreSQL through PgBouncer (deploy/pgbouncer, transaction pooling).

    with topology(database_url, app_servers=2, varnish=True, pgbouncer=True) as urls:
        urls.front    # where readers go: Varnish, or the first app server without it
        urls.apps     # each app server, e.g. for an editor's save through one of them
        urls.database # DATABASE_URL as the app servers see it (through PgBouncer)

The database must be migrated and the static files collected first (`manage.py migrate`,
`collectstatic` with DEBUG off), as for `make serve`. Everything listens on free ports of
127.0.0.1 and runs from a temporary folder that is removed at the end, also on failure or
Ctrl-C. Varnish and PgBouncer each run in the foreground as a child process (as root, PgBouncer
drops to the postgres user, Varnish to its own users); their logs are shown if they fail to
start. Varnish uses postmortems.vcl unchanged and a backends.vcl made from the shipped one with
the app servers' ports.
"""

import configparser
import os
import re
import shutil
import socket
import subprocess
import tempfile
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .server import (
    HOST,
    ROOT,
    Failed,
    Process,
    Server,
    choose_cache_url,
    free_port,
    port_is_free,
    production_env,
    request,
)

DEPLOY = ROOT / "deploy"
VCL = DEPLOY / "varnish" / "postmortems.vcl"
BACKENDS_VCL = DEPLOY / "varnish" / "backends.vcl"
PGBOUNCER_INI = DEPLOY / "pgbouncer" / "pgbouncer.ini"
SHIPPED_BACKEND_PORTS = ("8001", "8002")
# What the app servers are told when PgBouncer pools in transaction mode (see README).
PGBOUNCER_ENV = {"DATABASE_POOLING": "transaction"}


def varnish_missing():
    """Why Varnish cannot run here, or None."""
    if not shutil.which("varnishd"):
        return "varnishd is not installed (apt-get install varnish varnish-modules)"
    return None


def pgbouncer_missing():
    if not shutil.which("pgbouncer"):
        return "pgbouncer is not installed (apt-get install pgbouncer)"
    return None


@dataclass
class Urls:
    front: str
    apps: list = field(default_factory=list)
    database: str = ""
    servers: list = field(default_factory=list)  # bench.server.Server, for their logs
    varnish: "Varnish | None" = None


@contextmanager
def topology(database_url, *, app_servers=2, varnish=True, pgbouncer=True, cache_url=None, **env):
    """Start the pieces (PgBouncer, app servers, Varnish) and stop them all on exit.

    cache_url must be shared (Redis) when there is more than one app server; env is added to
    every app server's environment.
    """
    if cache_url is None:
        cache_url = choose_cache_url()
    if app_servers > 1 and not cache_url.startswith(("redis", "hiredis", "memcache")):
        raise Failed(f"{app_servers} app servers must share a cache (Redis), not {cache_url}.")
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pm-topology-")))
        folder.chmod(0o755)  # PgBouncer and Varnish read from it as other users
        apps_database = database_url
        if pgbouncer:
            bouncer = stack.enter_context(PgBouncer(database_url, folder=folder / "pgbouncer"))
            apps_database = bouncer.url
            env = {**PGBOUNCER_ENV, **env}
        ports = [free_port() for _ in range(app_servers)]
        front_port = free_port() if varnish else ports[0]
        if varnish:
            env = {
                "FRONT_CACHE_PURGE_URLS": f"http://{HOST}:{front_port}/",
                "BEHIND_PROXY": "true",
                **env,
            }
        servers = [
            stack.enter_context(Server(production_env(apps_database, cache_url, port, **env)))
            for port in ports
        ]
        front = None
        if varnish:
            front = stack.enter_context(Varnish(ports, front_port, folder=folder / "varnish"))
        yield Urls(
            front=f"http://{HOST}:{front_port}",
            apps=[server.url for server in servers],
            database=apps_database,
            servers=servers,
            varnish=front,
        )


class Child(Process):
    """A server run from a folder of its own holding its configuration, readable by the
    other users Varnish and PgBouncer switch to; the folder is removed with it if temporary."""

    def __init__(self, folder=None):
        super().__init__()
        self.temporary = None if folder else tempfile.TemporaryDirectory(prefix=f"pm-{self.name}-")
        self.folder = Path(folder or self.temporary.name)

    def popen_options(self):
        return {"cwd": self.folder}

    def __enter__(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o755)
        return super().__enter__()

    def __exit__(self, *exc_info):
        super().__exit__(*exc_info)
        if self.temporary:
            self.temporary.cleanup()


class Varnish(Child):
    """varnishd -F with the shipped VCL, in front of app servers on these ports of 127.0.0.1
    (one or two: with one, both of the shipped backends point at it)."""

    name = "varnishd"

    def __init__(
        self, app_ports, port=None, *, folder=None, parameters=None, storage="malloc,256m"
    ):
        super().__init__(folder)
        if not 1 <= len(app_ports) <= len(SHIPPED_BACKEND_PORTS):
            raise Failed(f"The shipped backends.vcl names two app servers, not {len(app_ports)}.")
        self.app_ports = list(app_ports)
        self.port = port or free_port()
        self.admin_port = free_port()
        self.storage = storage
        # Threads for every connection the benchmarks open (64) made before the load starts, as
        # Varnish's own default (100 a pool) does: with 20, Varnish made the rest under load and
        # the static file's p99 went from 2-7 ms to 6-24 ms.
        self.parameters = {"thread_pools": 1, "thread_pool_min": 128, **(parameters or {})}

    @property
    def url(self):
        return f"http://{HOST}:{self.port}"

    def prepare(self):
        shutil.copy(VCL, self.folder / VCL.name)
        backends = BACKENDS_VCL.read_text()
        for index, shipped in enumerate(SHIPPED_BACKEND_PORTS):
            port = self.app_ports[index % len(self.app_ports)]
            backends = re.sub(rf'(\.port\s*=\s*)"{shipped}"', rf'\g<1>"{port}"', backends)
        (self.folder / BACKENDS_VCL.name).write_text(backends)

    def command(self):
        command = ["varnishd", "-F", "-n", str(self.folder / "work")]
        command += ["-a", f"{HOST}:{self.port}", "-T", f"{HOST}:{self.admin_port}"]
        command += ["-f", str(self.folder / VCL.name), "-s", self.storage]
        for name, value in self.parameters.items():
            command += ["-p", f"{name}={value}"]
        if os.geteuid() != 0:
            command += ["-j", "none"]
        return command

    def ready(self):
        return request(self.port, "/healthz", timeout=2)[0] == 200

    COUNTERS = (
        "MAIN.cache_hit",
        "MAIN.cache_hit_grace",
        "MAIN.cache_miss",
        "MAIN.cache_hitmiss",
        "MAIN.bgfetch",
        "MAIN.backend_busy",
        "MAIN.fetch_failed",
        "MAIN.beresp_uncacheable",
        "MAIN.n_object",
        "MAIN.n_purges",
    )

    def counters(self):
        """A few of varnishstat's counters ({name: value}), e.g. hits and background fetches."""
        command = ["varnishstat", "-1", "-n", str(self.folder / "work")]
        for name in self.COUNTERS:
            command += ["-f", name]
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
        return {
            parts[0]: int(parts[1])
            for parts in (line.split() for line in done.stdout.splitlines())
            if len(parts) >= 2 and parts[1].isdigit()
        }

    def adm(self, *args):
        """varnishadm against this instance (e.g. "backend.list"); its output."""
        done = subprocess.run(
            ["varnishadm", "-n", str(self.folder / "work"), *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return done.stdout + done.stderr


class PgBouncer(Child):
    """pgbouncer with the shipped settings (transaction pooling, pool sizes), listening on a
    free port from 6432 up and sending every database to database_url's server. Clients are
    trusted: it listens on 127.0.0.1 only and lives as long as a benchmark."""

    name = "pgbouncer"

    def __init__(self, database_url, *, folder=None):
        super().__init__(folder)
        self.server = urlsplit(database_url)
        self.port = free_port_from(6432)
        self.url = self.server._replace(
            netloc=f"{self.server.username or 'postgres'}@{HOST}:{self.port}"
        ).geturl()

    def prepare(self):
        config = configparser.ConfigParser(
            interpolation=None, comment_prefixes=(";",), inline_comment_prefixes=None
        )
        config.optionxform = str
        config.read(PGBOUNCER_INI)
        target = f"host={self.server.hostname or HOST} port={self.server.port or 5432}"
        if self.server.password:
            target += f" password={self.server.password}"
        config["databases"] = {"*": target}
        config["pgbouncer"].update(
            listen_addr=HOST,
            listen_port=str(self.port),
            auth_type="trust",
            auth_file=str(self.folder / "userlist.txt"),
            logfile="",
            pidfile="",
            unix_socket_dir="",
        )
        (self.folder / "userlist.txt").write_text(f'"{self.server.username or "postgres"}" ""\n')
        with open(self.folder / "pgbouncer.ini", "w") as file:
            config.write(file)
        for path in self.folder.iterdir():
            path.chmod(0o644)

    def command(self):
        user = ["-u", "postgres"] if os.geteuid() == 0 else []
        return ["pgbouncer", *user, str(self.folder / "pgbouncer.ini")]

    def ready(self):
        with socket.create_connection((HOST, self.port), timeout=1):
            return True


def free_port_from(first):
    """The first port from `first` up that nothing listens on; within BENCH_PORTS when set."""
    if os.environ.get("BENCH_PORTS"):
        return free_port()
    for port in range(first, first + 100):
        if port_is_free(port):
            return port
    return free_port()
