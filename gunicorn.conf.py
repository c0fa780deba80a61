"""gunicorn settings for both tiers (the Procfile's `web:` process).

Settings are validated here, in the master, before any worker forks: a malformed
environment property stops start-up with one line instead of a crash loop.
"""
import multiprocessing
import os
import sys
from typing import NoReturn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from core.recycling import MemoryBound, bound_bytes  # noqa: E402
from core.settings import ConfigError, Settings  # noqa: E402


def _stop(error: ConfigError) -> NoReturn:
    print(f"config error: {error}", file=sys.stderr, flush=True)
    sys.exit(1)


try:
    _settings = Settings.from_env()
except ConfigError as exc:
    _stop(exc)

# nginx on the instance proxies to 127.0.0.1:8000, as the EB Python platform expects.
bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
# Web requests are short and mostly CPU (the session's Redis GET and one reader query are one round trip
# each): one process per core, whose 4 threads cover those waits. At 2xCPU+1 the 5 processes of a 2-core
# instance spent 20-30% more CPU per request (benchmarks/web_path.py, repeat runs: the logged-in page
# 2.3-3.2 ms against 1.7-2.1 ms at 2 workers, the bare hello 0.49-0.62 against 0.39-0.45), the same
# 2 x 4 threads that tests/chaos run the web tier with. Worker-tier tasks wait on SES and S3: 2xCPU+1.
cores = multiprocessing.cpu_count()
workers = int(os.environ.get("GUNICORN_WORKERS", max(2, cores) if _settings.role == "web" else cores * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A worker-tier task may take as long as sqsd's InactivityTimeout allows; web requests must not.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "180" if _settings.role == "worker" else "60"))
graceful_timeout = 30
keepalive = 5
# A process is recycled when its memory has grown past its share of the instance (core/recycling.py), not
# every N requests: a count cost every process a boot (~0.4 s of CPU) whether it grew or not, ~0.2 ms of CPU
# per no-op task in the worker tier (benchmarks/worker_throughput.py), and no count bounds one large image.
max_requests = 0
try:
    post_request = MemoryBound(bound_bytes(workers))
except ConfigError as exc:
    _stop(exc)
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# No access log of gunicorn's own: nginx, in front of both tiers (sqsd posts to it too), already writes one
# line per request to /var/log/nginx/access.log, streamed to CloudWatch Logs; gunicorn's duplicate cost about
# 0.1 ms of CPU per request (benchmarks/web_path.py). Its error log (boots, worker timeouts) stays.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
forwarded_allow_ips = "127.0.0.1"
# gunicorn 24+ opens a control socket under $HOME; nothing here uses it.
control_socket_disable = True
