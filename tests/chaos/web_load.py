"""A bounded load of logged-in browsers on 127.0.0.1, for the web scenarios: each thread is one browser
(its own requests.Session and cookie) looping on a page until a deadline, recording every answer."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import requests

NO_ANSWER = 0  # the status recorded when the request got no HTTP answer (refused, reset, timed out)
TIMEOUT = 10.0  # seconds: a request that takes longer counts as no answer (a hang)


@dataclass(frozen=True)
class Sample:
    started: float  # time.monotonic() when the request was sent
    seconds: float
    status: int  # HTTP status, or NO_ANSWER


def loop(browsers: Sequence[requests.Session], url: Callable[[int], str], until: float,
         pause: float = 0.0) -> list[Sample]:
    """Every browser GETs url(its index) without redirects until `until` (monotonic); all samples, in order."""
    samples: list[Sample] = []
    lock = threading.Lock()

    def browse(index: int, browser: requests.Session) -> None:
        mine: list[Sample] = []
        while (started := time.monotonic()) < until:
            try:
                status = browser.get(url(index), allow_redirects=False, timeout=TIMEOUT).status_code
            except requests.RequestException:
                status = NO_ANSWER
            mine.append(Sample(started, time.monotonic() - started, status))
            if pause:
                time.sleep(pause)
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=browse, args=(i, b), daemon=True) for i, b in enumerate(browsers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, until - time.monotonic()) + TIMEOUT + 5)
    return sorted(samples, key=lambda sample: sample.started)


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def between(samples: Sequence[Sample], start: float, end: float) -> list[Sample]:
    return [sample for sample in samples if start <= sample.started < end]


def error_rate(samples: Sequence[Sample], ok: Callable[[int], bool] = lambda status: status == 200) -> str:
    """e.g. '0.00% (0/812)'."""
    failed = sum(1 for sample in samples if not ok(sample.status))
    share = 100 * failed / len(samples) if samples else 0.0
    return f"{share:.2f}% ({failed}/{len(samples)})"


def failed(samples: Sequence[Sample], ok: Callable[[int], bool] = lambda status: status == 200) -> int:
    return sum(1 for sample in samples if not ok(sample.status))
