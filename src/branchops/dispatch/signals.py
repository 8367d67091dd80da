"""Hooks dispatch fires for the app above it (coordination registers receivers; dispatch imports none)."""

from django.dispatch import Signal

# A work order was done, or its outlet raised a problem, inside the same transaction.
# Arguments: actor, work_order, change ("done" | "problem" | "cancelled"), case (the feedback case, for "problem").
work_order_changed = Signal()
