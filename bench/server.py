"""What both benchmarks share: the production server as a child process, its environment,
manage.py, plain HTTP requests and a little PostgreSQL administration.

The server is the one `make serve` runs: `python -m postmortems.serve` (granian) with
DEBUG=false, a random SECRET_KEY, ALLOWED_HOSTS of the loopback names and HTTPS=false (plain
http on 127.0.0.1; with HTTPS on, every page would redirect to https). It listens on a free
port of 127.0.0.1, in a process group of its own (so Ctrl-C in the terminal reaches only the
benchmark, which then stops the server itself), and its log goes to a temporary file whose end
is shown if it fails to start.

Servers listen on BENCH_PORTS when set (e.g. 8130-8149), else on ports the system picks.
The page cache is CACHE_URL when set, else Redis database 2 at 127.0.0.1:6379 if Redis answers,
else local memory. postmortems/serve.py then runs a worker process per core with 2 threads
(Redis), or one process with 4 threads (local memory); WEB_CONCURRENCY and THREADS override both.
"""

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/pm_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/2"
START_SECONDS = 30
STOP_SECONDS = 15  # postmortems/serve.py gives requests in flight workers_kill_timeout = 10 s


class Failed(Exception):
    """A step of a benchmark went wrong; the message says which and shows its output."""


def exit_on_sigterm():
    """Turn SIGTERM into SystemExit, so `finally` blocks and context managers stop the server
    and drop scratch databases when the run is killed, as they do on Ctrl-C."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


# --- Environment ------------------------------------------------------------------------------


def free_port():
    """A port of 127.0.0.1 that nothing listens on: from BENCH_PORTS (a range such as
    8130-8149, for machines where each user keeps to ports of their own) when set, else any the
    system gives. The range is taken in turn, from the port after the one given last, so ports
    handed out together but not yet listened on are never given twice."""
    span = os.environ.get("BENCH_PORTS")
    if not span:
        with socket.socket() as sock:
            sock.bind((HOST, 0))
            return sock.getsockname()[1]
    first, _, last = span.partition("-")
    ports = list(range(int(first), int(last or first) + 1))
    start = (ports.index(_last_given[0]) + 1) if _last_given[0] in ports else 0
    for port in ports[start:] + ports[:start]:
        if port_is_free(port):
            _last_given[0] = port
            return port
    raise Failed(f"No free port left in BENCH_PORTS={span}.")


_last_given = [None]


def port_is_free(port):
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def redis_answers(url, timeout=0.5):
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or HOST, parts.port or 6379), timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def choose_cache_url():
    """CACHE_URL if set; else Redis database 2 on this machine if it answers; else local memory."""
    if os.environ.get("CACHE_URL"):
        return os.environ["CACHE_URL"]
    return DEFAULT_REDIS_URL if redis_answers(DEFAULT_REDIS_URL) else "locmem://bench"


def production_env(database_url, cache_url, port=None, **extra):
    """The environment of `make serve`, for this database and cache."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="postmortems.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS=f"{HOST},localhost",
        HTTPS="false",
        DATABASE_URL=database_url,
        CACHE_URL=cache_url,
        HOST=HOST,
        PYTHONUNBUFFERED="1",
    )
    if port is not None:
        env["PORT"] = str(port)
    env.update(extra)
    return env


def manage(env, *args, quiet=True, timeout=None):
    """Run manage.py with this environment; return its output, or raise Failed showing it."""
    command = [PYTHON, "manage.py", *args]
    if quiet:
        result = subprocess.run(
            command, cwd=ROOT, env=env, text=True, capture_output=True, timeout=timeout
        )
        output = result.stdout + result.stderr
    else:
        result = subprocess.run(command, cwd=ROOT, env=env, timeout=timeout)
        output = ""
    if result.returncode:
        raise Failed(f"manage.py {' '.join(args)} exited with {result.returncode}\n{output}")
    return output


# --- The server -------------------------------------------------------------------------------


class Process:
    """A server run as a child process in a session of its own, its output in a temporary log
    file; a context manager that waits until ready() and always stops it. Subclasses say how
    to start it (command, popen_options) and when it is ready."""

    name = "server"

    def __init__(self):
        self.process = None
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{self.name}-", suffix=".log")

    def command(self):
        raise NotImplementedError

    def popen_options(self):
        return {}

    def ready(self):
        raise NotImplementedError

    def prepare(self):
        """Anything to do before starting (write configuration files)."""

    def __enter__(self):
        self.prepare()
        self.process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **self.popen_options(),
        )
        try:
            self.wait_until_up()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info):
        self.stop()
        self.log.close()

    def wait_until_up(self):
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Failed(
                    f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                if self.ready():
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise Failed(f"{self.name} was not ready in {START_SECONDS} s:\n{self.log_tail()}")

    def stop(self):
        """SIGTERM (a graceful stop), then SIGKILL to its process group if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log_text(self):
        return Path(self.log.name).read_text(errors="replace")

    def log_tail(self, lines=30):
        return "\n".join(self.log_text().splitlines()[-lines:])


class Server(Process):
    """The production server as `make serve` runs it, answering /healthz when ready."""

    name = "granian"

    def __init__(self, env):
        super().__init__()
        self.env = env
        self.port = int(env["PORT"])

    def command(self):
        return [PYTHON, "-m", "postmortems.serve"]

    def popen_options(self):
        return {"cwd": ROOT, "env": self.env}

    def ready(self):
        return request(self.port, "/healthz", timeout=2)[0] == 200

    @property
    def url(self):
        return f"http://{HOST}:{self.port}"


class KeptAlive:
    """A connection kept alive as a browser keeps one: opened when first needed, and again
    after the server closes it or a request fails."""

    def __init__(self, host, port, timeout):
        self.address, self.timeout, self.connection = (host, port), timeout, None

    def get(self, path, headers=None):
        """(response, body); on a connection error or a timeout, closes and raises it."""
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(*self.address, timeout=self.timeout)
            self.connection.request("GET", path, headers=headers or {})
            response = self.connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if response.will_close:
            self.close()
        return response, body

    def close(self):
        if self.connection is not None:
            self.connection.close()
        self.connection = None


def request(port, path, *, method="GET", headers=None, body=None, timeout=10):
    """(status, headers, body) of one request on a new connection to 127.0.0.1:port."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


# --- PostgreSQL -------------------------------------------------------------------------------


def database_name(url):
    return urlsplit(url).path.lstrip("/")


def with_database(url, name):
    """The same server and user, another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def connect(url, database=None):
    """An autocommit psycopg2 connection (the driver the site uses) to url's server."""
    import psycopg2

    parts = urlsplit(url)
    try:
        connection = psycopg2.connect(
            host=parts.hostname or HOST,
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password or None,
            dbname=database or database_name(url),
            connect_timeout=5,
        )
    except psycopg2.OperationalError as error:
        raise Failed(f"Cannot connect to PostgreSQL ({url}): {error}") from None
    connection.autocommit = True
    return connection


def query(url, sql, params=(), database=None):
    """All rows of one statement (none for a command such as VACUUM)."""
    connection = connect(url, database)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params or None)  # without parameters, % is literal
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


def create_database(url, *, replace=False):
    """Create url's database if it is missing (drop it first with replace), from the postgres
    maintenance database of the same server."""
    from psycopg2 import sql

    name = database_name(url)
    connection = connect(url, "postgres")
    try:
        with connection.cursor() as cursor:
            if replace:
                drop = "DROP DATABASE IF EXISTS {} WITH (FORCE)"
                cursor.execute(sql.SQL(drop).format(sql.Identifier(name)))
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()
