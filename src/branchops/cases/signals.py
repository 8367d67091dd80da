"""Hooks cases fires for the apps above it (coordination receives them; cases imports none of them)."""

from django.dispatch import Signal

# The secretariat raised an outlet's feedback case to the coordination meeting, inside the triage's
# transaction. Arguments: actor, case, note. A receiver puts it on an agenda and returns what it made
# (a refusal raised by a receiver undoes the triage); no receiver at all refuses the triage.
feedback_raised_to_meeting = Signal()
