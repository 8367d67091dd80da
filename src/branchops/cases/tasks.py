"""Periodic work of the case engine: the SLA scan sends the reminders and applies the escalations
that are due (``services.apply_sla``). It is registered as a periodic job (``cases.apps``), run by
the kernel's periodic scan that ``branchops worker`` enqueues."""

from datetime import date


def sla_job(today: date) -> dict:
    """The periodic job: reminders and escalations as on ``today``; idempotent."""
    from . import services

    return services.apply_sla(today=today)
