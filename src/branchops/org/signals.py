"""Hooks org fires for the apps above it (they register receivers; org imports none of them)."""

from django.dispatch import Signal

# A tier-1 or tier-2 branch was created (or an institution became one), inside the creating
# transaction: apps with per-branch settings create their row here, so reads never have to.
# Arguments: actor, branch.
branch_created = Signal()
