"""The database that bench.stress stops and starts again.

Preferably a throwaway PostgreSQL cluster of its own (Debian's postgresql-common tools), so
stopping it never disturbs the shared server; where no cluster can be made, a TCP proxy in front
of the shared server, whose stop cuts every connection through it as a fast shutdown would.
Both are context managers that leave nothing behind: the cluster is dropped, the scratch
database of the fallback is dropped.
"""

import os
import shutil
import socket
import subprocess
import threading
from urllib.parse import urlsplit

from .server import HOST, Failed, connect, create_database, free_port, with_database

PG_VERSION = "15"
CLUSTER = os.environ.get("STRESS_CLUSTER") or "pmstress"  # another name for a second run
DATABASE = "postmortems"
FALLBACK_DATABASE = "pm_bench_stress"


class Cluster:
    """A throwaway PostgreSQL cluster (Debian's pg_createcluster), dropped on exit."""

    description = "its own PostgreSQL cluster"

    def __init__(self, port):
        self.port = port
        self.url = f"postgres://postgres@{HOST}:{port}/{DATABASE}"

    @staticmethod
    def available():
        """Why a cluster cannot be made here, or None if it can."""
        tools = ["pg_createcluster", "pg_ctlcluster", "pg_dropcluster", "pg_lsclusters"]
        missing = [tool for tool in tools if not shutil.which(tool)]
        if missing:
            return f"{', '.join(missing)} not installed (Debian's postgresql-common)"
        if os.geteuid() != 0 and os.environ.get("USER") != "postgres":
            return "creating a cluster needs root or the postgres user"
        return None

    def __enter__(self):
        self.drop()  # left by a run that was killed
        self.description = f"PostgreSQL cluster {PG_VERSION}/{CLUSTER} on port {self.port}"
        try:
            run(
                ["pg_createcluster", PG_VERSION, CLUSTER, "--port", str(self.port)]
                + ["--", "--auth-host=trust", "--auth-local=trust"]
            )
            self.start()
            create_database(self.url)
        except BaseException:
            self.drop()
            raise
        return self

    def __exit__(self, *exc_info):
        self.drop()

    def stop(self):
        run(["pg_ctlcluster", PG_VERSION, CLUSTER, "stop", "-m", "fast"])

    def start(self):
        run(["pg_ctlcluster", PG_VERSION, CLUSTER, "start"])  # returns once it accepts

    def drop(self):
        listed = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True)
        if any(line.split()[:2] == [PG_VERSION, CLUSTER] for line in listed.stdout.splitlines()):
            run(["pg_dropcluster", "--stop", PG_VERSION, CLUSTER])


class Proxy:
    """The fallback: a scratch database on DATABASE_URL's server, reached through a TCP proxy
    whose stop() closes its port and cuts every connection, as a fast shutdown would."""

    def __init__(self, server_url):
        self.target = (urlsplit(server_url).hostname or HOST, urlsplit(server_url).port or 5432)
        self.port = free_port()
        self.direct_url = with_database(server_url, FALLBACK_DATABASE)
        parts = urlsplit(self.direct_url)
        self.url = parts._replace(netloc=f"{parts.username or 'postgres'}@{HOST}:{self.port}")
        self.url = self.url.geturl()
        self.description = f"a TCP proxy on port {self.port} to {FALLBACK_DATABASE} (fallback)"
        self.listener, self.sockets, self.lock = None, set(), threading.Lock()

    def __enter__(self):
        create_database(self.direct_url, replace=True)
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()
        connection = connect(self.direct_url, "postgres")
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{FALLBACK_DATABASE}" WITH (FORCE)')
        finally:
            connection.close()

    def start(self):
        self.listener = socket.create_server((HOST, self.port), reuse_port=False)
        threading.Thread(target=self.accept, args=(self.listener,), daemon=True).start()

    def stop(self):
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        with self.lock:
            for sock in self.sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self.sockets.clear()

    def accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                return
            with self.lock:
                self.sockets.update((client, upstream))
            for source, sink in [(client, upstream), (upstream, client)]:
                threading.Thread(target=self.pump, args=(source, sink), daemon=True).start()

    def pump(self, source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        raise Failed(f"{' '.join(command)} exited with {result.returncode}:\n{result.stderr}")
