"""Measurements of the production server: `make bench` (bench.bench) and `make stress`
(bench.stress). Run them as modules from the project folder, with the project's virtualenv:

    .venv/bin/python -m bench.bench      # throughput, latency, queries, import time
    .venv/bin/python -m bench.stress     # 32 clients while the database goes away and comes back

Both start the production server (postmortems/serve.py) as `make serve` does (DEBUG off, a
random SECRET_KEY, HTTPS=false because it listens on plain http://127.0.0.1), on a free port,
and stop it at the end, on failure and on Ctrl-C too. Nothing here is imported by the site.
"""
