"""gunicorn configuration of the web process (Dockerfile, docker-compose.yml, bench/load.py).

The portal's requests are CPU-bound in Python (templates, ORM) with short database waits, so
synchronous workers, about one per core plus one to cover the waits, serve the most requests per
second with the lowest latency on a small machine (bench/load.py; bench/README.md has figures).
``WEB_CONCURRENCY`` overrides the number of workers.
"""

import multiprocessing
import os

workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() + 1)
worker_class = "sync"
# A worker is recycled after this many requests (plus jitter), bounding any slow memory growth.
max_requests = 5000
max_requests_jitter = 500
timeout = 60
# Load the application once in the master: faster start, copy-on-write memory shared by workers.
preload_app = True
backlog = 2048


def pre_fork(server, worker):
    """Freeze the preloaded app's objects (Django, apps, URLconf, templates) before forking: the
    garbage collector then never traverses them. In-process a full collection ran about once per
    search page (~13 ms of ~73 ms); under gunicorn the load benchmark's A/B was within noise
    (bench/README.md, issue 13). https://docs.python.org/3/library/gc.html#gc.freeze"""
    import gc

    gc.freeze()
