"""Periodic jobs the apps plug into the worker's scan (``tasks.periodic_scan``): SLA reminders and
escalations, freezing agendas at their cut-off, conditions and work orders falling due. Each app
registers its own in ``AppConfig.ready``; the kernel knows none of them. Each job is called with the
day to run as (``job(today)``) and must be idempotent: the scan runs every few minutes."""

import logging
from collections.abc import Callable
from datetime import date

log = logging.getLogger(__name__)

FAILED = "failed"

_JOBS: dict[str, Callable[[date], object]] = {}


def register(name: str, fn: Callable[[date], object]) -> None:
    _JOBS[name] = fn


def registered() -> list[str]:
    return sorted(_JOBS)


def run_all(today: date) -> dict:
    """Run every registered job; one failing job is logged and does not stop the others."""
    out = {}
    for name, fn in sorted(_JOBS.items()):
        try:
            out[name] = fn(today)
        except Exception:
            log.exception("periodic job %s failed", name)
            out[name] = FAILED
    return out
