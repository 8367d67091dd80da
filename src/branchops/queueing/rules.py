"""Who may do what with a log import (the predicates the actions, pages, API and services share)."""

from .models import TicketImport


def can_import(user, batch) -> bool:
    return user.has_perm("queueing.import_tickets")


def awaiting(user, batch: TicketImport) -> bool:
    return batch.status == TicketImport.Status.AWAITING


def undoable(batch: TicketImport) -> bool:
    return batch.status == TicketImport.Status.DONE and bool(batch.txid) and batch.undone_at is None


def can_change_settings(user) -> bool:
    """The secretariat (and administrators) keep their branch's queue settings."""
    return user.has_perm("queueing.change_queuesettings")


def can_view_settings(user) -> bool:
    return user.has_perm("queueing.view_queuesettings")
