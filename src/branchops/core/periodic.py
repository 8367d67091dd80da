"""Periodic jobs other modules plug into the worker's scan (e.g. freezing agendas at their cut-off,
flagging overdue conditions). Each job must be idempotent: the scan runs every few minutes."""

import logging

log = logging.getLogger(__name__)

_JOBS: dict[str, object] = {}


def register(name: str, fn) -> None:
    _JOBS[name] = fn


def run_all() -> dict:
    """Run every registered job; one failing job is logged and does not stop the others."""
    out = {}
    for name, fn in sorted(_JOBS.items()):
        try:
            out[name] = fn()
        except Exception:
            log.exception("periodic job %s failed", name)
            out[name] = "failed"
    return out
