"""The authorisation matrix (issue 13): every API operation and every page route, for every role and
for a user of the same role outside its scope, answers what ``EXPECTED`` declares — and the lists
hold only rows inside the reader's scope (``ROWS``).

- The routes are discovered: the OpenAPI document (``branchops.api.api``) and Django's URL resolver.
  A route that is not declared here, or a declared one that no longer exists, fails
  ``test_every_route_is_declared``: a new endpoint is added with its row of answers.
- Each route has one probe (``PROBES``): a GET, or for a write a representative request whose body
  an allowed user would send; the answer must be the declared one. Every request runs in a
  transaction rolled back afterwards, so the seeded world (tests/core/authz_world.py) is the same
  for every cell.
- Answers: 200/201 done, 302 sent to the login page (anonymous pages) or on after a page's POST,
  400 refused with a message naming the field, 401 no credentials (API), 403 the role may not,
  404 not in the reader's scope (the same as not existing), 405 a page that only takes POST.
- The case-creation rule per role and case type is its own table (``OPENS``), walked through the
  API and the page alike.
"""

import functools
import logging
import os
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver

from branchops.api import api as ninja_api
from branchops.cases.models import Case, CaseType
from branchops.coordination.models import Item
from branchops.core import clock
from branchops.service.models import GradingRun
from branchops.service.services import template_items

from .authz_world import OUT_OF_SCOPE, ROLES, USERS, build_world
from .conftest import MATRIX_SIZE

pytestmark = pytest.mark.django_db

API = "/api/v1"
DUMP = os.environ.get("AUTHZ_MATRIX_DUMP")  # set to a path: write the answers observed (to review, never to copy blind)


# --- the matrix: every route × every user, declared once -----------------------------------------

SIGNED_IN = " ".join(u for u in USERS if u != "anon")
EVERYONE = " ".join(USERS)


def but(*users) -> str:
    """Every signed-in user but these."""
    return " ".join(u for u in SIGNED_IN.split() if u not in users)


# Those who see the whole seeded branch; those who keep the grading schemes (bank-wide: any branch's).
BRANCH_WIDE = "sec1 pfb1 icc1 leader1 admin1 sub_cpp"
SCHEME_KEEPERS = "sec1 admin1 sec_gz admin_gz"
QUEUE_KEEPERS = "sec1 admin1 sec_gz admin_gz"  # each keeps their own branch's queue settings
# Workforce: who manages csm11 of SZ0101, who reads their record, who manages anyone (their own scope).
WF_MANAGERS = "sec1 head11"
WF_READERS = "sec1 head11 leader1 admin1"
WF_ANY_MANAGER = "sec1 head11 leader1 admin1 sec_gz head21 leader_gz admin_gz"

# Who reads service briefings at all, and who of them is outside SZ's (or at a sub-branch).
BRIEFING_ROLES = "sec1 sb1mgr leader1 sec_gz sb2mgr leader_gz"
BRIEFING_OUTSIDE = "sb1mgr sec_gz sb2mgr leader_gz"
BRIEFING_READ = {200: "sec1 leader1", 401: "anon", 404: BRIEFING_OUTSIDE,
                 403: but("sec1", "leader1", *BRIEFING_OUTSIDE.split())}
BRIEFING_PAGE = {200: "sec1 leader1", 302: "anon", 404: BRIEFING_OUTSIDE,
                 403: but("sec1", "leader1", *BRIEFING_OUTSIDE.split())}

EXPECTED = {
    # --- API operations ---
    "GET /api/v1/calendar/add-working-days": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/calendar/working-day": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/cases/": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/cases/complaints-per-outlet": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/cases/dashboard": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/cases/{pk}": {
        200: "sec1 head11 staff11 sb1mgr leader1 admin1",
        401: "anon",
        404: "pfb1 icc1 sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/cases/{pk}/history": {
        200: "sec1 head11 staff11 sb1mgr leader1 admin1",
        401: "anon",
        404: "pfb1 icc1 sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/coordination/items": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/coordination/items/{item_id}/release-check": {
        200: "sec1 pfb1 icc1 leader1 admin1",
        401: "anon",
        404: "head11 staff11 sb1mgr sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/coordination/items/{pk}": {
        200: "sec1 pfb1 icc1 leader1 admin1",
        401: "anon",
        404: "head11 staff11 sb1mgr sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/coordination/items/{pk}/attachments/{att_pk}": {
        200: "sec1 pfb1 icc1 head11 staff11 leader1 admin1 head21 staff21",
        401: "anon",
        404: "sb1mgr sec_gz sub_cpp rev_gz sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/coordination/items/{pk}/materials": {  # like the materials themselves
        200: "sec1 pfb1 icc1 head11 staff11 leader1 admin1 head21 staff21",
        401: "anon",
        404: "sb1mgr sec_gz sub_cpp rev_gz sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/coordination/items/{pk}/history": {
        200: "sec1 pfb1 icc1 leader1 admin1",
        401: "anon",
        404: "head11 staff11 sb1mgr sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/coordination/items/{pk}/watch": {  # the item's full readers; not outlets (nor sub-branches)
        200: "sec1 pfb1 icc1 leader1 admin1",
        401: "anon",
        404: "head11 staff11 sb1mgr sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/coordination/meetings": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/coordination/reviews/waiting": {200: "icc1 rev_gz", 401: "anon", 403: but("anon", "icc1", "rev_gz")},
    "GET /api/v1/coordination/conditions": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/coordination/meetings/{pk}": {
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp head21 staff21 sb2mgr",
        401: "anon",
        404: "sec_gz rev_gz leader_gz admin_gz",
    },
    # The world's meeting is held, its minutes a draft: the secretariat (those who run the branch's
    # meetings: sec1, admin1) and the chair (leader1) only; everyone else 404 (issued minutes' wider
    # readers: tests/coordination/test_minutes.py).
    "GET /api/v1/coordination/meetings/{pk}/minutes": {
        200: "sec1 leader1 admin1",
        401: "anon",
        404: but("anon", "sec1", "leader1", "admin1"),
    },
    "GET /api/v1/coordination/meetings/{pk}/minutes/document": {
        200: "sec1 leader1 admin1",
        401: "anon",
        404: but("anon", "sec1", "leader1", "admin1"),
    },
    "GET /api/v1/coordination/register/statistics": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/coordination/verify": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/dispatch/capacity/{outlet_id}": {
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp",
        401: "anon",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/dispatch/items/{item_id}/check": {
        200: "sec1 pfb1 icc1 leader1 admin1",
        401: "anon",
        404: "head11 staff11 sb1mgr sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/dispatch/work-orders": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/dispatch/work-orders/{pk}": {
        200: "sec1 pfb1 head11 staff11 sb1mgr leader1 admin1",
        401: "anon",
        404: "icc1 sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/dispatch/workload": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/me": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/me/notifications": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/org/departments": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/org/departments/{pk}": {
        200: "sec1 pfb1 icc1 leader1 admin1 sub_cpp",
        401: "anon",
        404: "head11 staff11 sb1mgr sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/org/institutions": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/org/institutions/{pk}": {
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp",
        401: "anon",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/org/institutions/{pk}/history": {
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp",
        401: "anon",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/org/people": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/org/people/{pk}": {
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp",
        401: "anon",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/org/people/{pk}/history": {
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp",
        401: "anon",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/queueing/imports": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/queueing/imports/{pk}": {
        200: "sec1 pfb1 icc1 leader1 admin1 sub_cpp",
        401: "anon",
        404: "head11 staff11 sb1mgr sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/queueing/kpis": {200: SIGNED_IN, 401: "anon"},
    # Queue settings: the secretariat and administrators, each of their own branch's (GZ has its own).
    "GET /api/v1/queueing/settings": {200: QUEUE_KEEPERS, 401: "anon", 403: but(*QUEUE_KEEPERS.split())},
    "PATCH /api/v1/queueing/settings": {200: QUEUE_KEEPERS, 401: "anon", 403: but(*QUEUE_KEEPERS.split())},
    "GET /api/v1/queueing/outlets/{code}/forecast": {
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp",
        401: "anon",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/queueing/outlets/{code}/intervals": {
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp",
        401: "anon",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/queueing/outlets/{code}/pattern": {
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp",
        401: "anon",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/queueing/outlets/{code}/staffing": {
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp",
        401: "anon",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "PATCH /api/v1/coordination/items/{pk}": {
        200: "pfb1",
        401: "anon",
        403: "sec1 leader1 admin1",
        404: "icc1 head11 staff11 sb1mgr sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "POST /api/v1/cases/": {
        201: "sec1 pfb1 head11 staff11 admin1 sub_cpp",
        400: "sec_gz head21 staff21 admin_gz",
        401: "anon",
        403: "icc1 sb1mgr leader1 rev_gz sb2mgr leader_gz",
    },
    "POST /api/v1/cases/extensions/{pk}/decision": {
        200: "sec1 admin1",
        401: "anon",
        403: "head11 staff11 sb1mgr leader1",
        404: "pfb1 icc1 sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "POST /api/v1/cases/{pk}/actions/{action}": {
        200: "sec1 head11 staff11 sb1mgr admin1",
        401: "anon",
        403: "leader1",
        404: "pfb1 icc1 sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "POST /api/v1/coordination/conditions/{pk}/met": {
        200: "sec1 pfb1 admin1",
        401: "anon",
        403: "icc1 head11 staff11 sb1mgr leader1 sub_cpp head21 staff21 sb2mgr",
        404: "sec_gz rev_gz leader_gz admin_gz",
    },
    "POST /api/v1/coordination/conditions/{pk}/signoff": {
        400: "sec1 admin1",
        401: "anon",
        403: "pfb1 icc1 head11 staff11 sb1mgr leader1 sub_cpp head21 staff21 sb2mgr",
        404: "sec_gz rev_gz leader_gz admin_gz",
    },
    "POST /api/v1/coordination/feedback/{pk}/actions/{action}": {  # the follow-up reported done
        200: "sec1 pfb1 admin1",
        401: "anon",
        403: "icc1 leader1 sub_cpp",
        404: "head11 staff11 sb1mgr sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "POST /api/v1/coordination/post-reviews/{pk}/actions/{action}": {  # its meeting's agenda is not frozen yet
        400: "sec1 admin1",
        401: "anon",
        403: "pfb1 icc1 leader1 sub_cpp",
        404: "head11 staff11 sb1mgr sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "POST /api/v1/coordination/items": {
        201: "sec1 pfb1 sub_cpp",
        400: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
        401: "anon",
        403: "icc1 head11 staff11 sb1mgr leader1 admin1",
    },
    "POST /api/v1/coordination/items/{pk}/actions/{action}": {
        200: "pfb1",
        401: "anon",
        403: "sec1 icc1 leader1 admin1",
        404: "head11 staff11 sb1mgr sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "POST /api/v1/coordination/items/{pk}/attachments": {
        201: "pfb1",
        401: "anon",
        403: "sec1 leader1 admin1",
        404: "icc1 head11 staff11 sb1mgr sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    # A released item, no condition open: the secretariat corrects its material; the submitter may
    # only to meet an open condition (400, saying so).
    "POST /api/v1/coordination/items/{pk}/materials/revisions": {
        201: "sec1 admin1",
        400: "pfb1",
        401: "anon",
        403: "icc1 head11 staff11 leader1 head21 staff21",
        404: "sb1mgr sec_gz sub_cpp rev_gz sb2mgr leader_gz admin_gz",
    },
    "POST /api/v1/coordination/meetings": {
        201: "sec_gz admin_gz",
        400: "sec1 admin1",
        401: "anon",
        403: "pfb1 icc1 head11 staff11 sb1mgr leader1 sub_cpp rev_gz head21 staff21 sb2mgr leader_gz",
    },
    "POST /api/v1/coordination/meetings/{pk}/actions/{action}": {
        200: "sec1 admin1",
        401: "anon",
        403: "pfb1 icc1 head11 staff11 sb1mgr leader1 sub_cpp head21 staff21 sb2mgr",
        404: "sec_gz rev_gz leader_gz admin_gz",
    },
    "POST /api/v1/dispatch/work-orders/{pk}/actions/{action}": {
        200: "head11",
        401: "anon",
        403: "sec1 pfb1 staff11 sb1mgr leader1 admin1",
        404: "icc1 sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "POST /api/v1/me/notifications/read": {200: SIGNED_IN, 401: "anon"},  # no ids: all of mine read
    "POST /api/v1/org/import": {
        400: "admin1 admin_gz",
        401: "anon",
        403: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz",
    },
    "POST /api/v1/queueing/imports/{pk}/actions/{action}": {
        400: "sec1 admin1",
        401: "anon",
        403: "pfb1 icc1 leader1 sub_cpp",
        404: "head11 staff11 sb1mgr sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "POST /api/v1/queueing/imports": {
        400: "sec1 admin1 sec_gz admin_gz",
        401: "anon",
        403: "pfb1 icc1 head11 staff11 sb1mgr leader1 sub_cpp rev_gz head21 staff21 sb2mgr leader_gz",
    },
    "PUT /api/v1/dispatch/capacity/{outlet_id}": {
        200: "sec1 admin1",
        401: "anon",
        403: "pfb1 icc1 head11 staff11 sb1mgr leader1 sub_cpp",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    # Service grading: the branch's people see its runs whole (drafts too); an outlet, or a sub-branch,
    # sees its branch's published runs and only its own outlets' rows; the secretariat alone runs them
    # (the reviewer does not publish); the secretariat and the administrator keep the (bank-wide) schemes.
    # The quarterly briefing: the secretariat drafts; the leader approves; approved ones are read by the
    # branch's secretariat, leaders and branch-level supervisors (sb1mgr sits at a sub-branch); outlets none.
    "GET /api/v1/service/briefings": {
        200: BRIEFING_ROLES,
        401: "anon",
        403: but(*BRIEFING_ROLES.split()),
    },
    "POST /api/v1/service/briefings": {
        201: "sec1",
        400: "sec_gz",  # another branch's secretariat: the branch is outside its view (named field)
        401: "anon",
        403: but("sec1", "sec_gz"),
    },
    "GET /api/v1/service/briefings/{pk}": BRIEFING_READ,  # the approved briefing
    "GET /api/v1/service/briefings/{pk}/document": BRIEFING_READ,
    "GET /api/v1/service/briefings/{pk}/workbook": BRIEFING_READ,
    "POST /api/v1/service/briefings/{pk}/actions/{action}": {  # approve the issued briefing
        200: "leader1",
        401: "anon",
        403: but("leader1", *BRIEFING_OUTSIDE.split()),
        404: BRIEFING_OUTSIDE,
    },
    "GET /api/v1/service/outlets/{outlet_id}/trend": {
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp",
        401: "anon",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/service/runs": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/service/runs/{pk}": {  # the draft: the secretariat's working paper
        200: BRANCH_WIDE,
        401: "anon",
        404: "head11 staff11 sb1mgr sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/service/runs/{pk}/outlets": {  # the published run (its rows: ROWS)
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp head21 staff21 sb2mgr",
        401: "anon",
        404: "sec_gz rev_gz leader_gz admin_gz",
    },
    "GET /api/v1/service/runs/{pk}/outlets/{outlet_id}": {  # outlet SZ0101 of the published run
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp",
        401: "anon",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/service/runs/{pk}/replay": {  # the published run: whole-run readers only
        200: BRANCH_WIDE,
        401: "anon",
        404: "head11 staff11 sb1mgr sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/service/schemes": {200: SIGNED_IN, 401: "anon"},
    "PATCH /api/v1/service/schemes/{pk}/indicators/{code}": {
        200: SCHEME_KEEPERS,
        401: "anon",
        403: but(*SCHEME_KEEPERS.split()),
    },
    "POST /api/v1/service/runs": {
        201: "sec1",
        400: "sec_gz",  # another branch's secretariat: the branch is outside its view (named field)
        401: "anon",
        403: but("sec1", "sec_gz"),
    },
    "POST /api/v1/service/runs/{pk}/actions/{action}": {  # review the draft
        200: "sec1",
        401: "anon",
        403: "pfb1 icc1 leader1 admin1 sub_cpp",
        404: "head11 staff11 sb1mgr sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "POST /api/v1/service/schemes/{pk}/versions": {
        201: SCHEME_KEEPERS,
        401: "anon",
        403: but(*SCHEME_KEEPERS.split()),
    },
    # Inspections: the secretariat schedules; only the assigned supervisor (sb1mgr) fills; the unmade
    # mystery-shopper visit is seen by its scheduler and its supervisor only; the submitted one by
    # everyone whose scope holds SZ0101.
    "GET /api/v1/service/inspections": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/service/inspections/{pk}": {  # the submitted inspection
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp",
        401: "anon",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "POST /api/v1/service/inspections": {
        201: "sec1",
        400: "sec_gz",  # the outlet is outside its view (named field)
        401: "anon",
        403: but("sec1", "sec_gz"),
    },
    "POST /api/v1/service/inspections/{pk}/photos": {  # the mystery visit not yet made
        201: "sb1mgr",
        401: "anon",
        403: "sec1",
        404: but("sb1mgr", "sec1"),
    },
    "POST /api/v1/service/inspections/{pk}/submit": {  # the mystery visit, every item passed
        200: "sb1mgr",
        401: "anon",
        403: "sec1",
        404: but("sb1mgr", "sec1"),
    },
    "POST /api/v1/service/findings/{pk}/reinspections": {  # the submitted inspection's finding
        201: "sec1",
        401: "anon",
        403: "pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    # 限期整改: the secretariat over the outlet or the supervisor who found it moves the finding's deadline
    # (and with it the case's due date); the outlet and the others in view may not.
    "POST /api/v1/service/findings/{pk}/deadline": {
        200: "sec1 sb1mgr",
        401: "anon",
        403: "pfb1 icc1 head11 staff11 leader1 admin1 sub_cpp",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    # Checklists are reference data every signed-in reader sees; the secretariat and the administrator
    # (bank-wide, like the schemes) edit them — the used version's edit makes a new version.
    "GET /api/v1/service/checklists": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/service/checklists/{pk}": {200: SIGNED_IN, 401: "anon"},
    "PATCH /api/v1/service/checklists/{pk}/items/{code}": {
        200: SCHEME_KEEPERS,
        401: "anon",
        403: but(*SCHEME_KEEPERS.split()),
    },
    "GET /api/v1/service/supervisors/counts": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/service/supervisors/minimum": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/service/supervisors/agreement": {200: SIGNED_IN, 401: "anon"},
    # Imported inputs: the secretariat and the administrator import for a branch in their scope (another
    # branch's: 400 naming the branch); the import list is theirs and the branch leader's; everyone reads
    # ratings, surveys and call-centre days within their scope (ROWS). Targets: the secretariat sets its
    # branch's; everyone of the branch, outlets included, reads them; another branch gets 404.
    "POST /api/v1/service/inputs": {
        200: "sec1 admin1",
        400: "sec_gz admin_gz",
        401: "anon",
        403: but("sec1", "admin1", "sec_gz", "admin_gz"),
    },
    "GET /api/v1/service/inputs": {
        200: "sec1 leader1 admin1 sec_gz leader_gz admin_gz",
        401: "anon",
        403: but("sec1", "leader1", "admin1", "sec_gz", "leader_gz", "admin_gz"),
    },
    "GET /api/v1/service/ratings": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/service/surveys": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/service/call-centre": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/service/targets": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/service/targets/{pk}": {
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp head21 staff21 sb2mgr",
        401: "anon",
        404: "sec_gz rev_gz leader_gz admin_gz",
    },
    "POST /api/v1/service/targets": {
        200: "sec1",
        400: "sec_gz",  # another branch's secretariat: SZ is outside its view (named field)
        401: "anon",
        403: but("sec1", "sec_gz"),
    },
    "DELETE /api/v1/service/targets/{pk}": {
        204: "sec1",
        401: "anon",
        403: "pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp head21 staff21 sb2mgr",
        404: "sec_gz rev_gz leader_gz admin_gz",
    },
    # Public phones: everyone reads the directory, campaigns and corrections of their scope; the
    # secretariat keeps the directory and opens campaigns (another branch's: 400 naming the field);
    # an outlet head keeps its own outlet's numbers and fixes its corrections; service supervisors and
    # the secretariat record the calls of outlets in their scope. A campaign of the branch is seen by
    # all of the branch (an outlet: its own calls).
    "GET /api/v1/service/phones": {200: SIGNED_IN, 401: "anon"},
    "POST /api/v1/service/phones": {  # a number at SZ0101
        201: "sec1 head11",
        400: "sec_gz head21",  # the outlet is not theirs (named field)
        401: "anon",
        403: but("sec1", "head11", "sec_gz", "head21"),
    },
    "PUT /api/v1/service/phones/{pk}": {  # SZ0101's number
        200: "sec1 head11",
        401: "anon",
        403: "pfb1 icc1 staff11 sb1mgr leader1 admin1 sub_cpp",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "POST /api/v1/service/phones/import": {  # SZ's directory, dry run
        200: "sec1",
        400: "sec_gz",
        401: "anon",
        403: but("sec1", "sec_gz"),
    },
    "GET /api/v1/service/phone-campaigns": {200: SIGNED_IN, 401: "anon"},
    "POST /api/v1/service/phone-campaigns": {
        201: "sec1",
        400: "sec_gz",
        401: "anon",
        403: but("sec1", "sec_gz"),
    },
    "GET /api/v1/service/phone-campaigns/{pk}": {
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp head21 staff21 sb2mgr",
        401: "anon",
        404: "sec_gz rev_gz leader_gz admin_gz",
    },
    "GET /api/v1/service/phone-campaigns/{pk}/calls": {
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp head21 staff21 sb2mgr",
        401: "anon",
        404: "sec_gz rev_gz leader_gz admin_gz",
    },
    "POST /api/v1/service/phone-calls/{pk}/record": {  # SZ0101's call, not yet made
        200: "sec1 sb1mgr",
        401: "anon",
        403: "pfb1 icc1 head11 staff11 leader1 admin1 sub_cpp",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/service/phone-corrections": {200: SIGNED_IN, 401: "anon"},
    "POST /api/v1/service/phone-corrections/{pk}/fix": {  # SZ0201's wrong number
        200: "sec1 head21",
        401: "anon",
        403: "pfb1 icc1 leader1 admin1 sub_cpp staff21 sb2mgr",
        404: "head11 staff11 sb1mgr sec_gz rev_gz leader_gz admin_gz",
    },
    # Outlet routines: the secretariat plans for the outlets in its scope (another branch's: 400 naming the
    # field); an outlet's head and staff do its own checks; everyone whose scope holds the outlet reads them.
    "GET /api/v1/service/routine-plans": {200: SIGNED_IN, 401: "anon"},
    "POST /api/v1/service/routine-plans": {
        201: "sec1",
        400: "sec_gz",
        401: "anon",
        403: but("sec1", "sec_gz"),
    },
    "GET /api/v1/service/routine-checks": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/service/routine-checks/{pk}": {  # SZ0101's check, due today
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp",
        401: "anon",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "POST /api/v1/service/routine-checks/{pk}/submit": {
        200: "head11 staff11",
        401: "anon",
        403: "sec1 pfb1 icc1 sb1mgr leader1 admin1 sub_cpp",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    # --- pages ---
    "admin:*": {302: EVERYONE},
    "api:api-root": {404: EVERYONE},
    "api:openapi-json": {200: EVERYONE},
    "api:openapi-view": {200: EVERYONE},
    "calendar": {200: SIGNED_IN, 302: "anon"},
    "cases:action": {
        302: "anon sec1 head11 staff11 sb1mgr admin1",
        403: "leader1",
        404: "pfb1 icc1 sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "cases:attachment": {
        200: "sec1 head11 staff11 sb1mgr leader1 admin1",
        302: "anon",
        404: "pfb1 icc1 sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "cases:dashboard": {200: SIGNED_IN, 302: "anon"},
    "cases:detail": {
        200: "sec1 head11 staff11 sb1mgr leader1 admin1",
        302: "anon",
        404: "pfb1 icc1 sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "cases:list": {200: SIGNED_IN, 302: "anon"},
    "cases:new": {
        200: "sec1 pfb1 head11 staff11 sb1mgr admin1 sec_gz sub_cpp head21 staff21 sb2mgr admin_gz",
        302: "anon",
        403: "icc1 leader1 rev_gz leader_gz",
    },
    "coordination:item": {
        200: "sec1 pfb1 icc1 leader1 admin1",
        302: "anon",
        404: "head11 staff11 sb1mgr sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "coordination:item_action": {
        302: "anon pfb1",
        403: "sec1 icc1 leader1 admin1",
        404: "head11 staff11 sb1mgr sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "coordination:item_edit": {
        200: "pfb1",
        302: "anon",
        403: "sec1 icc1 head11 staff11 sb1mgr leader1 admin1 rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
        404: "sec_gz sub_cpp",
    },
    "coordination:item_file": {
        200: "sec1 pfb1 icc1 head11 staff11 leader1 admin1 head21 staff21",
        302: "anon",
        404: "sb1mgr sec_gz sub_cpp rev_gz sb2mgr leader_gz admin_gz",
    },
    "coordination:item_new": {
        200: "sec1 pfb1 sec_gz sub_cpp",
        302: "anon",
        403: "icc1 head11 staff11 sb1mgr leader1 admin1 rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "coordination:meeting": {
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp head21 staff21 sb2mgr",
        302: "anon",
        404: "sec_gz rev_gz leader_gz admin_gz",
    },
    "coordination:meeting_action": {
        302: "anon sec1 admin1",
        403: "pfb1 icc1 head11 staff11 sb1mgr leader1 sub_cpp head21 staff21 sb2mgr",
        404: "sec_gz rev_gz leader_gz admin_gz",
    },
    "coordination:feedback_action": {
        302: "anon sec1 pfb1 admin1",
        403: "icc1 leader1 sub_cpp",
        404: "head11 staff11 sb1mgr sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "coordination:post_review_action": {
        302: "anon sec1 admin1",
        403: "pfb1 icc1 leader1 sub_cpp",
        404: "head11 staff11 sb1mgr sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "coordination:meeting_new": {
        302: "anon sec1 admin1 sec_gz admin_gz",
        403: "pfb1 icc1 head11 staff11 sb1mgr leader1 sub_cpp rev_gz head21 staff21 sb2mgr leader_gz",
    },
    "coordination:meetings": {200: SIGNED_IN, 302: "anon"},
    "coordination:conditions": {200: SIGNED_IN, 302: "anon"},
    "coordination:reviews": {200: "icc1 rev_gz", 302: "anon", 403: but("anon", "icc1", "rev_gz")},
    "coordination:minutes": {  # a draft: the secretariat and the chair
        200: "sec1 leader1 admin1",
        302: "anon",
        404: but("anon", "sec1", "leader1", "admin1"),
    },
    "coordination:minutes_docx": {
        200: "sec1 leader1 admin1",
        302: "anon",
        404: but("anon", "sec1", "leader1", "admin1"),
    },
    "coordination:monitor": {
        200: "sec1 pfb1 leader1 admin1",
        302: "anon",
        403: "icc1 head11 staff11 sb1mgr sub_cpp head21 staff21 sb2mgr",
        404: "sec_gz rev_gz leader_gz admin_gz",
    },
    "coordination:register": {200: SIGNED_IN, 302: "anon"},
    "coordination:verify": {200: SIGNED_IN, 302: "anon"},
    "dispatch/items/<int:item_pk>/": {301: EVERYONE},
    "dispatch:action": {
        302: "anon head11",
        403: "sec1 pfb1 staff11 sb1mgr leader1 admin1",
        404: "icc1 sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "dispatch:capacity": {
        302: "anon sec1 admin1 sec_gz admin_gz",
        403: "pfb1 icc1 head11 staff11 sb1mgr leader1 sub_cpp rev_gz head21 staff21 sb2mgr leader_gz",
    },
    "dispatch:material": {
        200: "sec1 pfb1 head11 staff11 sb1mgr leader1 admin1",
        302: "anon",
        404: "icc1 sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "dispatch:work_order": {
        200: "sec1 pfb1 head11 staff11 sb1mgr leader1 admin1",
        302: "anon",
        404: "icc1 sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "dispatch:work_orders": {200: SIGNED_IN, 302: "anon"},
    "dispatch:workload": {200: SIGNED_IN, 302: "anon"},
    "favicon.ico": {301: EVERYONE},
    "home": {200: SIGNED_IN, 302: "anon"},
    "login": {200: "anon", 302: SIGNED_IN},
    "logout": {302: EVERYONE},
    "notifications": {200: SIGNED_IN, 302: "anon"},
    "notifications_read": {302: EVERYONE},
    # Saved filters are the user's own: anyone signed in saves and lists theirs; another's is 404.
    "saved_filters": {200: SIGNED_IN, 302: "anon"},
    "saved_filter_save": {302: EVERYONE},
    "saved_filter_delete": {302: "anon staff11", 404: but("staff11")},
    "org:department_detail": {
        200: "sec1 pfb1 icc1 leader1 admin1 sub_cpp",
        302: "anon",
        404: "head11 staff11 sb1mgr sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "org:department_edit": {
        200: "admin1",
        302: "anon",
        403: "sec1 pfb1 icc1 leader1 sub_cpp",
        404: "head11 staff11 sb1mgr sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "org:department_list": {200: SIGNED_IN, 302: "anon"},
    "org:department_new": {
        200: "admin1 admin_gz",
        302: "anon",
        403: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz",
    },
    "org:export": {
        200: "sec1 leader1 admin1 sec_gz leader_gz admin_gz",
        302: "anon",
        403: "pfb1 icc1 head11 staff11 sb1mgr sub_cpp rev_gz head21 staff21 sb2mgr",
    },
    "org:import": {
        200: "admin1 admin_gz",
        302: "anon",
        403: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz",
    },
    "org:institution_detail": {
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp",
        302: "anon",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "org:institution_edit": {
        200: "admin1",
        302: "anon",
        403: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 sub_cpp",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "org:institution_hours": {
        200: "admin1",
        302: "anon",
        403: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 sub_cpp",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "org:institution_list": {200: SIGNED_IN, 302: "anon"},
    "org:institution_new": {
        200: "admin1 admin_gz",
        302: "anon",
        403: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz",
    },
    "org:staff_detail": {
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp",
        302: "anon",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "org:staff_edit": {
        200: "admin1",
        302: "anon",
        403: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 sub_cpp",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "org:staff_list": {200: SIGNED_IN, 302: "anon"},
    "org:staff_new": {
        200: "admin1 admin_gz",
        302: "anon",
        403: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 sec_gz sub_cpp rev_gz head21 staff21 sb2mgr leader_gz",
    },
    "org:tree": {200: SIGNED_IN, 302: "anon"},
    "password_change": {200: SIGNED_IN, 302: "anon"},
    "password_change_done": {200: SIGNED_IN, 302: "anon"},
    "profile": {200: SIGNED_IN, 302: "anon"},
    "queueing:dashboard": {200: SIGNED_IN, 302: "anon"},
    "queueing:import": {
        200: "sec1 pfb1 icc1 leader1 admin1 sub_cpp",
        302: "anon",
        404: "head11 staff11 sb1mgr sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "queueing:imports": {200: SIGNED_IN, 302: "anon"},
    "queueing:settings": {200: QUEUE_KEEPERS, 302: "anon", 403: but(*QUEUE_KEEPERS.split())},
    "queueing:import_action": {  # undo: the importers (a recorded, not imported file cannot be undone)
        302: "anon sec1 admin1",
        403: "pfb1 icc1 leader1 sub_cpp",
        404: "head11 staff11 sb1mgr sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "queueing:outlet": {
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp",
        302: "anon",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "set_language": {302: EVERYONE},
    "service:briefings": {200: BRIEFING_ROLES, 302: "anon", 403: but(*BRIEFING_ROLES.split())},
    "service:briefing_new": {
        302: "anon sec1 sec_gz",  # sec_gz: refused with a message (the branch is outside its view)
        403: but("sec1", "sec_gz"),
    },
    "service:briefing": BRIEFING_PAGE,  # the approved briefing
    "service:briefing_docx": BRIEFING_PAGE,
    "service:briefing_xlsx": BRIEFING_PAGE,
    "service:briefing_action": {  # approve the issued briefing
        302: "anon leader1",
        403: but("leader1", *BRIEFING_OUTSIDE.split()),
        404: BRIEFING_OUTSIDE,
    },
    "service:action": {  # review the draft
        302: "anon sec1",
        403: "pfb1 icc1 leader1 admin1 sub_cpp",
        404: "head11 staff11 sb1mgr sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "service:export": {  # the draft
        200: BRANCH_WIDE,
        302: "anon",
        404: "head11 staff11 sb1mgr sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "service:outlet": {  # outlet SZ0101 of the published run
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp",
        302: "anon",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "service:run": {  # the published run
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp head21 staff21 sb2mgr",
        302: "anon",
        404: "sec_gz rev_gz leader_gz admin_gz",
    },
    "service:run_new": {
        302: "anon sec1 sec_gz",  # sec_gz: refused with a message (the branch is outside its view)
        403: but("sec1", "sec_gz"),
    },
    "service:runs": {200: SIGNED_IN, 302: "anon"},
    "service:scheme_version": {
        302: "anon " + SCHEME_KEEPERS,
        403: but(*SCHEME_KEEPERS.split()),
    },
    "service:schemes": {200: SIGNED_IN, 302: "anon"},
    "service:inspections": {200: SIGNED_IN, 302: "anon"},
    "service:inspection": {  # the submitted inspection
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp",
        302: "anon",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "service:supervisors": {200: SIGNED_IN, 302: "anon"},
    "service:inputs": {
        200: "sec1 leader1 admin1 sec_gz leader_gz admin_gz",
        302: "anon",
        403: but("sec1", "leader1", "admin1", "sec_gz", "leader_gz", "admin_gz"),
    },
    "service:input_import": {  # SZ's ratings import
        200: "sec1 leader1 admin1",
        302: "anon",
        404: but("sec1", "leader1", "admin1"),
    },
    "service:ratings": {200: SIGNED_IN, 302: "anon"},
    "service:surveys": {200: SIGNED_IN, 302: "anon"},
    "service:call_centre": {200: SIGNED_IN, 302: "anon"},
    "service:targets": {200: SIGNED_IN, 302: "anon"},
    "service:target_delete": {  # SZ's target
        302: "anon sec1",
        403: "pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp head21 staff21 sb2mgr",
        404: "sec_gz rev_gz leader_gz admin_gz",
    },
    "service:inspection_new": {
        302: "anon sec1 sec_gz",  # sec_gz: refused with a message (the outlet is outside its view)
        403: but("sec1", "sec_gz"),
    },
    "service:reinspect": {  # the submitted inspection's finding
        302: "anon sec1",
        403: "pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "service:checklists": {200: SIGNED_IN, 302: "anon"},
    "service:checklist": {200: SIGNED_IN, 302: "anon"},
    "service:checklist_item": {  # an item of the version the submitted inspection used
        302: "anon " + SCHEME_KEEPERS,
        403: but(*SCHEME_KEEPERS.split()),
    },
    "service:finding_deadline": {  # the submitted inspection's finding
        302: "anon sec1 sb1mgr",
        403: "pfb1 icc1 head11 staff11 leader1 admin1 sub_cpp",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "service:phones": {200: SIGNED_IN, 302: "anon"},
    "service:phones_import": {200: "sec1 sec_gz", 302: "anon", 403: but("sec1", "sec_gz")},
    "service:phone": {  # SZ0101's number
        200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp",
        302: "anon",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "service:phone_campaigns": {200: SIGNED_IN, 302: "anon"},
    "service:phone_campaign": {200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp head21 staff21 sb2mgr", 302: "anon", 404: "sec_gz rev_gz leader_gz admin_gz"},
    "service:phone_call": {  # record SZ0101's call
        302: "anon sec1 sb1mgr",
        403: "pfb1 icc1 head11 staff11 leader1 admin1 sub_cpp",
        404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "service:phone_corrections": {200: SIGNED_IN, 302: "anon"},
    "service:phone_fix": {  # SZ0201's wrong number
        302: "anon sec1 head21",
        403: "pfb1 icc1 leader1 admin1 sub_cpp staff21 sb2mgr",
        404: "head11 staff11 sb1mgr sec_gz rev_gz leader_gz admin_gz",
    },
    "service:routines": {200: SIGNED_IN, 302: "anon"},
    "service:routine_checks": {200: SIGNED_IN, 302: "anon"},
    "service:routine_check": {200: "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp", 302: "anon", 404: "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz"},
    "token_revoke": {
        302: "anon staff11",
        404: but("staff11"),
    },
    # --- workforce (csm11 of SZ0101: personal data only to those who manage them; leader and admin read) ---
    "GET /api/v1/workforce/people": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/workforce/people/{pk}": {200: WF_READERS, 401: "anon", 404: but(*WF_READERS.split())},
    "POST /api/v1/workforce/people/{pk}/actions/{action}": {  # grant the cash skill
        200: WF_MANAGERS, 401: "anon", 403: "leader1 admin1", 404: but(*WF_READERS.split()),
    },
    "GET /api/v1/workforce/certificates": {200: SIGNED_IN, 401: "anon"},
    "POST /api/v1/workforce/certificates/{pk}/actions/{action}": {  # revoke with a reason
        200: WF_MANAGERS, 401: "anon", 403: "leader1 admin1", 404: but(*WF_READERS.split()),
    },
    "GET /api/v1/workforce/uncertified": {200: WF_ANY_MANAGER, 401: "anon", 403: but(*WF_ANY_MANAGER.split())},
    "GET /api/v1/workforce/mentorships": {200: WF_ANY_MANAGER, 401: "anon", 403: but(*WF_ANY_MANAGER.split())},
    "GET /api/v1/workforce/mentorships/{pk}": {200: WF_READERS, 401: "anon", 404: but(*WF_READERS.split())},
    "POST /api/v1/workforce/mentorships/{pk}/actions/{action}": {  # record the exam
        200: WF_MANAGERS, 401: "anon", 403: "leader1 admin1", 404: but(*WF_READERS.split()),
    },
    "GET /api/v1/workforce/cross-post": {200: WF_ANY_MANAGER, 401: "anon", 403: but(*WF_ANY_MANAGER.split())},
    "GET /api/v1/workforce/skills": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/workforce/certificate-types": {200: SIGNED_IN, 401: "anon"},
    "GET /api/v1/workforce/post-models": {200: SIGNED_IN, 401: "anon"},
    "POST /api/v1/workforce/settings": {  # SZ's expiring window: its secretariat and administrators
        200: "sec1 admin1", 401: "anon", 403: but("sec1", "admin1"),
    },
    "workforce:people": {200: SIGNED_IN, 302: "anon"},
    "workforce:person": {200: WF_READERS, 302: "anon", 404: but(*WF_READERS.split())},
    "workforce:person_action": {302: "anon " + WF_MANAGERS, 403: "leader1 admin1", 404: but(*WF_READERS.split())},
    "workforce:certificates": {200: SIGNED_IN, 302: "anon"},
    "workforce:certificate_action": {302: "anon " + WF_MANAGERS, 403: "leader1 admin1",
                                     404: but(*WF_READERS.split())},
    "workforce:uncertified": {200: WF_ANY_MANAGER, 302: "anon", 403: but(*WF_ANY_MANAGER.split())},
    "workforce:mentorships": {200: WF_ANY_MANAGER, 302: "anon", 403: but(*WF_ANY_MANAGER.split())},
    "workforce:mentorship": {200: WF_READERS, 302: "anon", 404: but(*WF_READERS.split())},
    "workforce:mentorship_action": {302: "anon " + WF_MANAGERS, 403: "leader1 admin1",
                                    404: but(*WF_READERS.split())},
    "workforce:cross_post": {200: WF_ANY_MANAGER, 302: "anon", 403: but(*WF_ANY_MANAGER.split())},
    "workforce:lists": {200: SIGNED_IN, 302: "anon"},
}

# Which rows each list shows whom (the rows named by ROW_NAMES); a user not listed gets no 200.
ROWS = {
    "GET /api/v1/cases/": {
        "case11 case21 feedback12 insp_rect rect11": "sec1 leader1 admin1",
        "": "pfb1 icc1 sec_gz sub_cpp rev_gz leader_gz admin_gz",
        "case11 insp_rect rect11": "head11 staff11",
        "case11 feedback12 insp_rect rect11": "sb1mgr",
        "case21": "head21 staff21 sb2mgr",
    },
    "GET /api/v1/coordination/items": {
        "conditional draft released waiting": "sec1 pfb1 leader1 admin1",
        "conditional released waiting": "icc1",
        "conditional released": "head11 staff11 sb1mgr sub_cpp head21 staff21 sb2mgr",
        "": "sec_gz rev_gz leader_gz admin_gz",
    },
    "GET /api/v1/coordination/meetings": {
        "meeting next_meeting": "sec1 pfb1 icc1 head11 staff11 sb1mgr leader1 admin1 sub_cpp head21 staff21 sb2mgr",
        "": "sec_gz rev_gz leader_gz admin_gz",
    },
    # The conditions of the items one reads in full (department, reviewers, secretariat, leaders,
    # the outlets targeted) and those one's department owns.
    "GET /api/v1/coordination/conditions": {
        "condition": "sec1 pfb1 icc1 head11 staff11 leader1 admin1 head21 staff21",
        "": "sb1mgr sec_gz sub_cpp rev_gz sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/dispatch/work-orders": {
        "wo@SZ0101 wo@SZ0102 wo@SZ0201": "sec1 pfb1 leader1 admin1",
        "": "icc1 sec_gz sub_cpp rev_gz leader_gz admin_gz",
        "wo@SZ0101": "head11 staff11",
        "wo@SZ0101 wo@SZ0102": "sb1mgr",
        "wo@SZ0201": "head21 staff21 sb2mgr",
    },
    "GET /api/v1/org/institutions": {
        "SZ SZ01 SZ0101 SZ0102 SZ02 SZ0201": "sec1 pfb1 icc1 leader1 admin1 sub_cpp",
        "SZ0101": "head11 staff11",
        "SZ01 SZ0101 SZ0102": "sb1mgr",
        "GZ": "sec_gz rev_gz leader_gz admin_gz",
        "SZ0201": "head21 staff21",
        "SZ02 SZ0201": "sb2mgr",
    },
    "GET /api/v1/org/people": {
        "admin1 csm11 head11 head21 icc1 leader1 pfb1 sb1mgr sb2mgr sec1 sec2 staff11 staff12 staff21 sub_cpp":
            "sec1 pfb1 icc1 leader1 admin1 sub_cpp",
        "csm11 head11 staff11": "head11 staff11",
        "csm11 head11 sb1mgr staff11 staff12": "sb1mgr",
        "admin_gz leader_gz rev_gz sec_gz": "sec_gz rev_gz leader_gz admin_gz",
        "head21 staff21": "head21 staff21",
        "head21 sb2mgr staff21": "sb2mgr",
    },
    "GET /api/v1/service/runs": {
        "draft published": BRANCH_WIDE,
        "published": "head11 staff11 sb1mgr head21 staff21 sb2mgr",
        "": "sec_gz rev_gz leader_gz admin_gz",
    },
    "GET /api/v1/service/runs/{pk}/outlets": {  # the published run; another branch's people get 404
        "SZ0101 SZ0102 SZ0201": BRANCH_WIDE,
        "SZ0101": "head11 staff11",
        "SZ0101 SZ0102": "sb1mgr",
        "SZ0201": "head21 staff21 sb2mgr",
    },
    "GET /api/v1/service/inspections": {
        "mystery visited": "sec1 sb1mgr",
        "visited": "pfb1 icc1 head11 staff11 leader1 admin1 sub_cpp",
        "": "sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
    "GET /api/v1/service/ratings": {
        "rating11 rating21": "sec1 pfb1 icc1 leader1 admin1 sub_cpp",
        "rating11": "head11 staff11 sb1mgr",
        "rating21": "head21 staff21 sb2mgr",
        "": "sec_gz rev_gz leader_gz admin_gz",
    },
    "GET /api/v1/queueing/imports": {
        "ticket_import": "sec1 pfb1 icc1 leader1 admin1 sub_cpp",
        "": "head11 staff11 sb1mgr sec_gz rev_gz head21 staff21 sb2mgr leader_gz admin_gz",
    },
}


# --- the probes: one request per route, on the seeded world ---------------------------------------

def _get(path):
    return lambda b: ("get", path(b), {})


def _post(path, data=None, form=False):
    def probe(b):
        body = data(b) if callable(data) else (data or {})
        if form:
            return "post", path(b), {"data": body}
        return "post", path(b), {"data": body, "content_type": "application/json"}

    return probe


def _json(method, path, data):
    return lambda b: (method, path(b), {"data": data(b), "content_type": "application/json"})


def _upload(name, content, **fields):
    """``content`` may be a function of the world: read on the probe's day (the clock is set by then)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    return lambda b: {"file": SimpleUploadedFile(name, content(b) if callable(content) else content), **fields}


def _version(model, attr):
    return lambda b: model.objects.get(pk=getattr(b, attr).pk).version


def _item_body(b):
    start = b.draft.window_start
    return {"title": "矩阵测试事项", "item_type": "new_business", "background": "背景", "actions": "动作",
            "effort_hours": "1", "window_start": str(start), "window_end": str(start), "urgency": "normal",
            "customer_facing": False, "target_mode": "list", "outlet_ids": [b.o11.pk],
            "online_justification": "需要网点当面指导，无法线上完成"}


def _run_body(b):
    """This quarter's run of the seeded branch (the world has the two before it)."""
    year, quarter = b.draft_quarter
    year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return {"branch": b.branch.pk, "year": year, "quarter": quarter}


def _later(b):
    return b.scheme_next.effective_from + timedelta(days=30)


def _case_body(b, case_type, institution):
    body = {"case_type": case_type, "institution_id": institution.pk, "title": "矩阵测试", "channel": ""}
    if case_type == CaseType.COMPLAINT:
        body |= {"channel": "on_site", "complaint": {"complainant_name": "李四"}}
    elif case_type == CaseType.SUPPORT:
        body["category"] = "REPAIR"
    elif case_type == CaseType.RECTIFICATION:
        body |= {"channel": "inspection", "rectification": {"evidence_required": "照片"}}
    return body


def _briefing_body(b):
    year, quarter = b.briefing_free
    return {"branch": b.branch.pk, "year": year, "quarter": quarter}


PROBES = {
    # --- API ---
    "GET /api/v1/workforce/people": _get(lambda b: f"{API}/workforce/people"),
    "GET /api/v1/workforce/people/{pk}": _get(lambda b: f"{API}/workforce/people/{b.csm11.pk}"),
    "POST /api/v1/workforce/people/{pk}/actions/{action}": _post(
        lambda b: f"{API}/workforce/people/{b.csm11.pk}/actions/grant_skill", {"skill": "cash"}),
    "GET /api/v1/workforce/certificates": _get(lambda b: f"{API}/workforce/certificates"),
    "POST /api/v1/workforce/certificates/{pk}/actions/{action}": _post(
        lambda b: f"{API}/workforce/certificates/{b.wf_cert.pk}/actions/revoke", {"reason": "复核不合格"}),
    "GET /api/v1/workforce/uncertified": _get(lambda b: f"{API}/workforce/uncertified"),
    "GET /api/v1/workforce/mentorships": _get(lambda b: f"{API}/workforce/mentorships"),
    "GET /api/v1/workforce/mentorships/{pk}": _get(lambda b: f"{API}/workforce/mentorships/{b.wf_mentorship.pk}"),
    "POST /api/v1/workforce/mentorships/{pk}/actions/{action}": _post(
        lambda b: f"{API}/workforce/mentorships/{b.wf_mentorship.pk}/actions/exam",
        lambda b: {"on": clock.today().isoformat(), "score": 80}),
    "GET /api/v1/workforce/cross-post": _get(lambda b: f"{API}/workforce/cross-post"),
    "GET /api/v1/workforce/skills": _get(lambda b: f"{API}/workforce/skills"),
    "GET /api/v1/workforce/certificate-types": _get(lambda b: f"{API}/workforce/certificate-types"),
    "GET /api/v1/workforce/post-models": _get(lambda b: f"{API}/workforce/post-models"),
    "POST /api/v1/workforce/settings": _post(lambda b: f"{API}/workforce/settings",
                                             lambda b: {"branch": b.branch.pk, "expiring_days": 30}),
    "workforce:people": _get(lambda b: "/workforce/"),
    "workforce:person": _get(lambda b: f"/workforce/people/{b.csm11.pk}/"),
    "workforce:person_action": _post(lambda b: f"/workforce/people/{b.csm11.pk}/grant_skill/",
                                     lambda b: {"skill": b.wf_cash.pk}, form=True),
    "workforce:certificates": _get(lambda b: "/workforce/certificates/"),
    "workforce:certificate_action": _post(lambda b: f"/workforce/certificates/{b.wf_cert.pk}/revoke/",
                                          {"reason": "复核不合格"}, form=True),
    "workforce:uncertified": _get(lambda b: "/workforce/uncertified/"),
    "workforce:mentorships": _get(lambda b: "/workforce/mentorships/"),
    "workforce:mentorship": _get(lambda b: f"/workforce/mentorships/{b.wf_mentorship.pk}/"),
    "workforce:mentorship_action": _post(lambda b: f"/workforce/mentorships/{b.wf_mentorship.pk}/exam/",
                                         lambda b: {"on": clock.today().isoformat(), "score": 80}, form=True),
    "workforce:cross_post": _get(lambda b: "/workforce/cross-post/"),
    "workforce:lists": _get(lambda b: "/workforce/lists/"),
    "GET /api/v1/me": _get(lambda b: f"{API}/me"),
    "GET /api/v1/me/notifications": _get(lambda b: f"{API}/me/notifications"),
    "POST /api/v1/me/notifications/read": _post(lambda b: f"{API}/me/notifications/read"),
    "GET /api/v1/calendar/working-day": _get(lambda b: f"{API}/calendar/working-day?on=2026-10-01"),
    "GET /api/v1/calendar/add-working-days": _get(lambda b: f"{API}/calendar/add-working-days?start=2026-10-01&days=3"),
    "GET /api/v1/org/institutions": _get(lambda b: f"{API}/org/institutions"),
    "GET /api/v1/org/institutions/{pk}": _get(lambda b: f"{API}/org/institutions/{b.o11.pk}"),
    "GET /api/v1/org/institutions/{pk}/history": _get(lambda b: f"{API}/org/institutions/{b.o11.pk}/history"),
    "GET /api/v1/org/departments": _get(lambda b: f"{API}/org/departments"),
    "GET /api/v1/org/departments/{pk}": _get(lambda b: f"{API}/org/departments/{b.pfb.pk}"),
    "GET /api/v1/org/people": _get(lambda b: f"{API}/org/people"),
    "GET /api/v1/org/people/{pk}": _get(lambda b: f"{API}/org/people/{b.users['staff11'].staff.pk}"),
    "GET /api/v1/org/people/{pk}/history": _get(lambda b: f"{API}/org/people/{b.users['staff11'].staff.pk}/history"),
    "POST /api/v1/org/import": _post(lambda b: f"{API}/org/import?dry_run=true",
                                     _upload("org.xlsx", b"not a workbook"), form=True),
    "GET /api/v1/cases/": _get(lambda b: f"{API}/cases/"),
    "POST /api/v1/cases/": _post(lambda b: f"{API}/cases/",
                                 lambda b: _case_body(b, CaseType.COMPLAINT, b.o11)),
    "GET /api/v1/cases/{pk}": _get(lambda b: f"{API}/cases/{b.case11.pk}"),
    "GET /api/v1/cases/{pk}/history": _get(lambda b: f"{API}/cases/{b.case11.pk}/history"),
    "POST /api/v1/cases/{pk}/actions/{action}": _post(
        lambda b: f"{API}/cases/{b.case11.pk}/actions/comment",
        lambda b: {"body": "矩阵测试", "version": _version(Case, "case11")(b)}),
    "POST /api/v1/cases/extensions/{pk}/decision": _post(lambda b: f"{API}/cases/extensions/{b.extension.pk}/decision",
                                                         {"approve": True}),
    "GET /api/v1/cases/dashboard": _get(lambda b: f"{API}/cases/dashboard"),
    "GET /api/v1/cases/complaints-per-outlet": _get(lambda b: f"{API}/cases/complaints-per-outlet?year=2026"),
    "GET /api/v1/coordination/items": _get(lambda b: f"{API}/coordination/items"),
    "POST /api/v1/coordination/items": _post(lambda b: f"{API}/coordination/items", _item_body),
    "GET /api/v1/coordination/items/{pk}": _get(lambda b: f"{API}/coordination/items/{b.waiting.pk}"),
    "GET /api/v1/coordination/items/{pk}/watch": _get(lambda b: f"{API}/coordination/items/{b.released.pk}/watch"),
    "POST /api/v1/coordination/post-reviews/{pk}/actions/{action}": _post(
        lambda b: f"{API}/coordination/post-reviews/{b.post_review.pk}/actions/record", {"outcome": "successful"}),
    "PATCH /api/v1/coordination/items/{pk}": _json("patch", lambda b: f"{API}/coordination/items/{b.draft.pk}",
                                                   lambda b: {"title": "改过的标题"}),
    "GET /api/v1/coordination/items/{pk}/history": _get(lambda b: f"{API}/coordination/items/{b.waiting.pk}/history"),
    "GET /api/v1/coordination/items/{item_id}/release-check": _get(
        lambda b: f"{API}/coordination/items/{b.waiting.pk}/release-check"),
    "GET /api/v1/dispatch/items/{item_id}/check": _get(lambda b: f"{API}/dispatch/items/{b.waiting.pk}/check"),
    "POST /api/v1/coordination/items/{pk}/attachments": _post(
        lambda b: f"{API}/coordination/items/{b.draft.pk}/attachments", _upload("指引.txt", b"x", kind="guide"),
        form=True),
    "GET /api/v1/coordination/items/{pk}/materials": _get(lambda b: f"{API}/coordination/items/{b.released.pk}/materials"),
    "POST /api/v1/coordination/items/{pk}/materials/revisions": _post(
        lambda b: f"{API}/coordination/items/{b.released.pk}/materials/revisions",
        lambda b: _upload("话术v2.txt", b"y", reason="矩阵测试", replaces=b.item_file.pk)(b), form=True),
    "GET /api/v1/coordination/items/{pk}/attachments/{att_pk}": _get(
        lambda b: f"{API}/coordination/items/{b.released.pk}/attachments/{b.item_file.pk}"),
    "POST /api/v1/coordination/items/{pk}/actions/{action}": _post(
        lambda b: f"{API}/coordination/items/{b.waiting.pk}/actions/withdraw", {"reason": "矩阵测试"}),
    "POST /api/v1/coordination/conditions/{pk}/met": _post(
        lambda b: f"{API}/coordination/conditions/{b.condition.pk}/met", {"evidence": "已修订"}),
    "POST /api/v1/coordination/conditions/{pk}/signoff": _post(
        lambda b: f"{API}/coordination/conditions/{b.condition.pk}/signoff", {"accept": True}),
    "POST /api/v1/coordination/feedback/{pk}/actions/{action}": _post(
        lambda b: f"{API}/coordination/feedback/{b.feedback_entry.pk}/actions/done", {"note": "已更换"}),
    "GET /api/v1/coordination/meetings": _get(lambda b: f"{API}/coordination/meetings"),
    "POST /api/v1/coordination/meetings": _post(lambda b: f"{API}/coordination/meetings",
                                                lambda b: {"held_on": str(b.draft.window_start)}),
    "GET /api/v1/coordination/meetings/{pk}": _get(lambda b: f"{API}/coordination/meetings/{b.meeting.pk}"),
    "GET /api/v1/coordination/meetings/{pk}/minutes": _get(
        lambda b: f"{API}/coordination/meetings/{b.meeting.pk}/minutes"),
    "GET /api/v1/coordination/meetings/{pk}/minutes/document": _get(
        lambda b: f"{API}/coordination/meetings/{b.meeting.pk}/minutes/document"),
    "POST /api/v1/coordination/meetings/{pk}/actions/{action}": _post(
        lambda b: f"{API}/coordination/meetings/{b.meeting.pk}/actions/close"),
    "GET /api/v1/coordination/register/statistics": _get(lambda b: f"{API}/coordination/register/statistics"),
    "GET /api/v1/coordination/verify": _get(lambda b: f"{API}/coordination/verify?number=X"),
    "GET /api/v1/dispatch/work-orders": _get(lambda b: f"{API}/dispatch/work-orders"),
    "GET /api/v1/dispatch/work-orders/{pk}": _get(lambda b: f"{API}/dispatch/work-orders/{b.wo11.pk}"),
    "POST /api/v1/dispatch/work-orders/{pk}/actions/{action}": _post(
        lambda b: f"{API}/dispatch/work-orders/{b.wo11.pk}/actions/acknowledge"),
    "GET /api/v1/dispatch/workload": _get(lambda b: f"{API}/dispatch/workload"),
    "GET /api/v1/dispatch/capacity/{outlet_id}": _get(lambda b: f"{API}/dispatch/capacity/{b.o11.pk}"),
    "PUT /api/v1/dispatch/capacity/{outlet_id}": _json("put", lambda b: f"{API}/dispatch/capacity/{b.o11.pk}",
                                                       lambda b: {"weekly_hours": "30.0"}),
    "GET /api/v1/queueing/kpis": _get(lambda b: f"{API}/queueing/kpis"),
    "GET /api/v1/queueing/outlets/{code}/intervals": _get(lambda b: f"{API}/queueing/outlets/{b.o11.code}/intervals"),
    "GET /api/v1/queueing/outlets/{code}/pattern": _get(lambda b: f"{API}/queueing/outlets/{b.o11.code}/pattern"),
    "GET /api/v1/queueing/outlets/{code}/staffing": _get(lambda b: f"{API}/queueing/outlets/{b.o11.code}/staffing"),
    "GET /api/v1/queueing/outlets/{code}/forecast": _get(lambda b: f"{API}/queueing/outlets/{b.o11.code}/forecast"),
    "GET /api/v1/queueing/imports": _get(lambda b: f"{API}/queueing/imports"),
    "GET /api/v1/queueing/settings": _get(lambda b: f"{API}/queueing/settings"),
    "PATCH /api/v1/queueing/settings": _json("patch", lambda b: f"{API}/queueing/settings",
                                             lambda b: {"regular_threshold_minutes": 12}),
    "POST /api/v1/queueing/imports": _post(lambda b: f"{API}/queueing/imports", _upload("t.txt", b"x"), form=True),
    "GET /api/v1/queueing/imports/{pk}": _get(lambda b: f"{API}/queueing/imports/{b.ticket_import.pk}"),
    "POST /api/v1/queueing/imports/{pk}/actions/{action}": _post(
        lambda b: f"{API}/queueing/imports/{b.ticket_import.pk}/actions/undo"),
    "GET /api/v1/coordination/reviews/waiting": _get(lambda b: f"{API}/coordination/reviews/waiting"),
    "GET /api/v1/coordination/conditions": _get(lambda b: f"{API}/coordination/conditions"),
    # --- pages ---
    "home": _get(lambda b: "/"),
    "login": _get(lambda b: "/accounts/login/"),
    "logout": _post(lambda b: "/accounts/logout/", form=True),
    "password_change": _get(lambda b: "/accounts/password/"),
    "password_change_done": _get(lambda b: "/accounts/password/done/"),
    "profile": _get(lambda b: "/accounts/profile/"),
    "token_revoke": _post(lambda b: f"/accounts/tokens/{b.token.pk}/revoke/", form=True),
    "notifications": _get(lambda b: "/notifications/"),
    "notifications_read": _post(lambda b: "/notifications/read/", form=True),
    "saved_filters": _get(lambda b: "/filters/"),
    "saved_filter_save": _post(lambda b: "/filters/save/", {"list": "cases:list", "name": "矩阵", "query": "queue=all"},
                               form=True),
    "saved_filter_delete": _post(lambda b: f"/filters/{b.saved_filter.pk}/delete/", form=True),
    "calendar": _get(lambda b: "/calendar/"),
    "set_language": _post(lambda b: "/i18n/setlang/", {"language": "zh-hans"}, form=True),
    "api:openapi-json": _get(lambda b: f"{API}/openapi.json"),
    "api:openapi-view": _get(lambda b: f"{API}/docs"),
    "api:api-root": _get(lambda b: f"{API}/"),
    "admin:*": _get(lambda b: "/admin/org/staff/"),
    "org:tree": _get(lambda b: "/org/"),
    "org:institution_list": _get(lambda b: "/org/institutions/"),
    "org:institution_new": _get(lambda b: "/org/institutions/new/"),
    "org:institution_detail": _get(lambda b: f"/org/institutions/{b.o11.pk}/"),
    "org:institution_edit": _get(lambda b: f"/org/institutions/{b.o11.pk}/edit/"),
    "org:institution_hours": _get(lambda b: f"/org/institutions/{b.o11.pk}/hours/"),
    "org:department_list": _get(lambda b: "/org/departments/"),
    "org:department_new": _get(lambda b: "/org/departments/new/"),
    "org:department_detail": _get(lambda b: f"/org/departments/{b.pfb.pk}/"),
    "org:department_edit": _get(lambda b: f"/org/departments/{b.pfb.pk}/edit/"),
    "org:staff_list": _get(lambda b: "/org/people/"),
    "org:staff_new": _get(lambda b: "/org/people/new/"),
    "org:staff_detail": _get(lambda b: f"/org/people/{b.users['staff11'].staff.pk}/"),
    "org:staff_edit": _get(lambda b: f"/org/people/{b.users['staff11'].staff.pk}/edit/"),
    "org:export": _get(lambda b: "/org/export/"),
    "org:import": _get(lambda b: "/org/import/"),
    "cases:list": _get(lambda b: "/cases/"),
    "cases:new": _get(lambda b: "/cases/new/"),
    "cases:dashboard": _get(lambda b: "/cases/dashboard/"),
    "cases:detail": _get(lambda b: f"/cases/{b.case11.pk}/"),
    "cases:attachment": _get(lambda b: f"/cases/{b.case11.pk}/files/{b.case_file.pk}/"),
    "cases:action": _post(lambda b: f"/cases/{b.case11.pk}/comment/",
                          lambda b: {"body": "矩阵测试", "version": _version(Case, "case11")(b)}, form=True),
    "coordination:register": _get(lambda b: "/coordination/"),
    "coordination:item_new": _get(lambda b: "/coordination/items/new/"),
    "coordination:item": _get(lambda b: f"/coordination/items/{b.waiting.pk}/"),
    "coordination:item_edit": _get(lambda b: f"/coordination/items/{b.draft.pk}/edit/"),
    "coordination:item_file": _get(lambda b: f"/coordination/items/{b.released.pk}/files/{b.item_file.pk}/"),
    "coordination:monitor": _get(lambda b: f"/coordination/items/{b.released.pk}/work-orders/"),
    "coordination:item_action": _post(lambda b: f"/coordination/items/{b.waiting.pk}/withdraw/",
                                      lambda b: {"reason": "矩阵测试", "version": _version(Item, "waiting")(b)},
                                      form=True),
    "coordination:meetings": _get(lambda b: "/coordination/meetings/"),
    "coordination:conditions": _get(lambda b: "/coordination/conditions/"),
    "coordination:reviews": _get(lambda b: "/coordination/reviews/"),
    "queueing:import_action": _post(lambda b: f"/queueing/imports/{b.ticket_import.pk}/actions/undo/"),
    "coordination:meeting_new": _post(lambda b: "/coordination/meetings/new/",
                                      lambda b: {"held_on": str(b.draft.window_start)}, form=True),
    "coordination:meeting": _get(lambda b: f"/coordination/meetings/{b.meeting.pk}/"),
    "coordination:minutes": _get(lambda b: f"/coordination/meetings/{b.meeting.pk}/minutes/"),
    "coordination:minutes_docx": _get(lambda b: f"/coordination/meetings/{b.meeting.pk}/minutes.docx"),
    "coordination:meeting_action": _post(lambda b: f"/coordination/meetings/{b.meeting.pk}/close/", form=True),
    "coordination:feedback_action": _post(lambda b: f"/coordination/feedback/{b.feedback_entry.pk}/done/",
                                          {"note": "已更换"}, form=True),
    "coordination:post_review_action": _post(lambda b: f"/coordination/post-reviews/{b.post_review.pk}/record/",
                                             {"outcome": "successful"}, form=True),
    "coordination:verify": _get(lambda b: "/coordination/verify/"),
    "dispatch/items/<int:item_pk>/": _get(lambda b: f"/dispatch/items/{b.released.pk}/"),
    "dispatch:work_orders": _get(lambda b: "/dispatch/"),
    "dispatch:workload": _get(lambda b: "/dispatch/workload/"),
    "dispatch:capacity": _get(lambda b: "/dispatch/workload/capacity/"),
    "dispatch:work_order": _get(lambda b: f"/dispatch/{b.wo11.pk}/"),
    "dispatch:material": _get(lambda b: f"/dispatch/{b.wo11.pk}/materials/{b.item_file.pk}/"),
    "dispatch:action": _post(lambda b: f"/dispatch/{b.wo11.pk}/acknowledge/", form=True),
    "queueing:dashboard": _get(lambda b: "/queueing/"),
    "queueing:outlet": _get(lambda b: f"/queueing/outlets/{b.o11.code}/"),
    "queueing:settings": _get(lambda b: "/queueing/settings/"),
    "queueing:imports": _get(lambda b: "/queueing/imports/"),
    "queueing:import": _get(lambda b: f"/queueing/imports/{b.ticket_import.pk}/"),
    "favicon.ico": _get(lambda b: "/favicon.ico"),
    "service:briefings": _get(lambda b: "/service/briefings/"),
    "service:briefing_new": _post(lambda b: "/service/briefings/new/", lambda b: _briefing_body(b), form=True),
    "service:briefing": _get(lambda b: f"/service/briefings/{b.briefing_approved.pk}/"),
    "service:briefing_docx": _get(lambda b: f"/service/briefings/{b.briefing_approved.pk}/briefing.docx"),
    "service:briefing_xlsx": _get(lambda b: f"/service/briefings/{b.briefing_approved.pk}/briefing.xlsx"),
    "service:briefing_action": _post(lambda b: f"/service/briefings/{b.briefing_issued.pk}/approve/",
                                     lambda b: {"version": b.briefing_issued.version}, form=True),
    "GET /api/v1/service/briefings": _get(lambda b: f"{API}/service/briefings"),
    "POST /api/v1/service/briefings": _post(lambda b: f"{API}/service/briefings", _briefing_body),
    "GET /api/v1/service/briefings/{pk}": _get(lambda b: f"{API}/service/briefings/{b.briefing_approved.pk}"),
    "GET /api/v1/service/briefings/{pk}/document":
        _get(lambda b: f"{API}/service/briefings/{b.briefing_approved.pk}/document"),
    "GET /api/v1/service/briefings/{pk}/workbook":
        _get(lambda b: f"{API}/service/briefings/{b.briefing_approved.pk}/workbook"),
    "POST /api/v1/service/briefings/{pk}/actions/{action}":
        _post(lambda b: f"{API}/service/briefings/{b.briefing_issued.pk}/actions/approve",
              lambda b: {"version": b.briefing_issued.version}),
    "service:runs": _get(lambda b: "/service/"),
    "service:schemes": _get(lambda b: "/service/schemes/"),
    "service:scheme_version": _post(lambda b: f"/service/schemes/{b.scheme_next.pk}/version/",
                                    lambda b: {"effective_from": str(_later(b))}, form=True),
    "service:run_new": _post(lambda b: "/service/runs/new/", lambda b: _run_body(b), form=True),
    "service:run": _get(lambda b: f"/service/runs/{b.published_run.pk}/"),
    "service:export": _get(lambda b: f"/service/runs/{b.draft_run.pk}/export/"),
    "service:outlet": _get(lambda b: f"/service/runs/{b.published_run.pk}/outlets/{b.o11.pk}/"),
    "service:action": _post(lambda b: f"/service/runs/{b.draft_run.pk}/review/",
                            lambda b: {"version": _version(GradingRun, "draft_run")(b)}, form=True),
    "GET /api/v1/service/outlets/{outlet_id}/trend": _get(lambda b: f"{API}/service/outlets/{b.o11.pk}/trend"),
    "GET /api/v1/service/runs": _get(lambda b: f"{API}/service/runs"),
    "GET /api/v1/service/runs/{pk}": _get(lambda b: f"{API}/service/runs/{b.draft_run.pk}"),
    "GET /api/v1/service/runs/{pk}/outlets": _get(lambda b: f"{API}/service/runs/{b.published_run.pk}/outlets"),
    "GET /api/v1/service/runs/{pk}/outlets/{outlet_id}":
        _get(lambda b: f"{API}/service/runs/{b.published_run.pk}/outlets/{b.o11.pk}"),
    "GET /api/v1/service/runs/{pk}/replay": _get(lambda b: f"{API}/service/runs/{b.published_run.pk}/replay"),
    "GET /api/v1/service/schemes": _get(lambda b: f"{API}/service/schemes"),
    "PATCH /api/v1/service/schemes/{pk}/indicators/{code}":
        _json("patch", lambda b: f"{API}/service/schemes/{b.scheme_next.pk}/indicators/"
                                 f"{b.scheme_next.indicators.first().code}", lambda b: {"name": "矩阵测试"}),
    "POST /api/v1/service/runs": _post(lambda b: f"{API}/service/runs", _run_body),
    "POST /api/v1/service/runs/{pk}/actions/{action}":
        _post(lambda b: f"{API}/service/runs/{b.draft_run.pk}/actions/review",
              lambda b: {"version": _version(GradingRun, "draft_run")(b)}),
    "POST /api/v1/service/schemes/{pk}/versions":
        _post(lambda b: f"{API}/service/schemes/{b.scheme_next.pk}/versions",
              lambda b: {"effective_from": str(_later(b))}),
    "GET /api/v1/service/inspections": _get(lambda b: f"{API}/service/inspections"),
    "GET /api/v1/service/inspections/{pk}": _get(lambda b: f"{API}/service/inspections/{b.visited.pk}"),
    "POST /api/v1/service/inspections": _post(lambda b: f"{API}/service/inspections", lambda b: {
        "outlet": b.o11.pk, "supervisor": b.users["sb1mgr"].pk, "planned_on": str(clock.today()),
        "inspection_type": "video"}),
    "POST /api/v1/service/inspections/{pk}/photos": _post(
        lambda b: f"{API}/service/inspections/{b.mystery.pk}/photos",
        _upload("l1.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, item="l1"), form=True),
    "POST /api/v1/service/inspections/{pk}/submit": _post(
        lambda b: f"{API}/service/inspections/{b.mystery.pk}/submit",
        lambda b: {"answers": {i.code: "pass" for i in template_items(b.mystery.template)}}),
    "POST /api/v1/service/findings/{pk}/reinspections": _post(
        lambda b: f"{API}/service/findings/{b.finding.pk}/reinspections",
        lambda b: {"supervisor": b.users["sb1mgr"].pk, "planned_on": str(clock.today())}),
    "GET /api/v1/service/supervisors/counts": _get(lambda b: f"{API}/service/supervisors/counts?year={clock.today().year}"),
    "GET /api/v1/service/supervisors/minimum": _get(lambda b: f"{API}/service/supervisors/minimum"),
    "GET /api/v1/service/supervisors/agreement": _get(lambda b: f"{API}/service/supervisors/agreement"),
    "POST /api/v1/service/inputs": _post(
        lambda b: f"{API}/service/inputs?kind=ratings&branch={b.branch.pk}&dry_run=true",
        _upload("r.csv", lambda b: f"网点代码,柜员号,评价时间,评价结果\nSZ0102,T9,{clock.today()} 08:00:00,5\n".encode()),
        form=True),
    "GET /api/v1/service/inputs": _get(lambda b: f"{API}/service/inputs"),
    "GET /api/v1/service/ratings": _get(lambda b: f"{API}/service/ratings"),
    "GET /api/v1/service/surveys": _get(lambda b: f"{API}/service/surveys"),
    "GET /api/v1/service/call-centre": _get(lambda b: f"{API}/service/call-centre"),
    "GET /api/v1/service/targets": _get(lambda b: f"{API}/service/targets"),
    "GET /api/v1/service/targets/{pk}": _get(lambda b: f"{API}/service/targets/{b.target.pk}"),
    "POST /api/v1/service/targets": _post(lambda b: f"{API}/service/targets", lambda b: {
        "branch": b.branch.pk, "year": clock.today().year, "metric": "complaints", "comparison": "at_most",
        "value": 10}),
    "DELETE /api/v1/service/targets/{pk}": lambda b: ("delete", f"{API}/service/targets/{b.target.pk}", {}),
    "GET /api/v1/service/phones": _get(lambda b: f"{API}/service/phones"),
    "POST /api/v1/service/phones": _post(lambda b: f"{API}/service/phones", lambda b: {
        "outlet": b.o11.pk, "kind": "lobby", "number": "13900001111", "published_at": "大堂"}),
    "PUT /api/v1/service/phones/{pk}": _json("put", lambda b: f"{API}/service/phones/{b.phone11.pk}", lambda b: {
        "outlet": b.o11.pk, "kind": "service", "number": "0755-82345679", "published_at": "门楣"}),
    "POST /api/v1/service/phones/import": _post(
        lambda b: f"{API}/service/phones/import?branch={b.branch.pk}&dry_run=true",
        _upload("p.csv", "网点代码,电话类型,电话号码,公示位置\nSZ0102,服务电话,95588,门楣\n".encode()), form=True),
    "GET /api/v1/service/phone-campaigns": _get(lambda b: f"{API}/service/phone-campaigns"),
    "POST /api/v1/service/phone-campaigns": _post(lambda b: f"{API}/service/phone-campaigns", lambda b: {
        "name": "复查", "scope": b.branch.pk, "starts_on": str(clock.today()), "ends_on": str(clock.today())}),
    "GET /api/v1/service/phone-campaigns/{pk}": _get(lambda b: f"{API}/service/phone-campaigns/{b.phone_campaign.pk}"),
    "GET /api/v1/service/phone-campaigns/{pk}/calls": _get(
        lambda b: f"{API}/service/phone-campaigns/{b.phone_campaign.pk}/calls"),
    "POST /api/v1/service/phone-calls/{pk}/record": _post(lambda b: f"{API}/service/phone-calls/{b.call11.pk}/record",
                                                          {"result": "answered"}),
    "GET /api/v1/service/phone-corrections": _get(lambda b: f"{API}/service/phone-corrections"),
    "POST /api/v1/service/phone-corrections/{pk}/fix": _post(
        lambda b: f"{API}/service/phone-corrections/{b.correction21.pk}/fix", {"number": "0755-88881111"}),
    "service:phones": _get(lambda b: "/service/phones/"),
    "service:phones_import": _get(lambda b: "/service/phones/import/"),
    "service:phone": _get(lambda b: f"/service/phones/{b.phone11.pk}/"),
    "service:phone_campaigns": _get(lambda b: "/service/phone-checks/"),
    "service:phone_campaign": _get(lambda b: f"/service/phone-checks/{b.phone_campaign.pk}/"),
    "service:phone_call": _post(lambda b: f"/service/phone-calls/{b.call11.pk}/record/", {"result": "answered"},
                                form=True),
    "service:phone_corrections": _get(lambda b: "/service/phone-corrections/"),
    "service:phone_fix": _post(lambda b: f"/service/phone-corrections/{b.correction21.pk}/fix/",
                               {"number": "0755-88881111"}, form=True),
    "GET /api/v1/service/routine-plans": _get(lambda b: f"{API}/service/routine-plans"),
    "POST /api/v1/service/routine-plans": _post(lambda b: f"{API}/service/routine-plans", lambda b: {
        "name": "便民设施月检", "kind": "facilities", "scope": b.branch.pk, "frequency_days": 30,
        "starts_on": str(clock.today())}),
    "GET /api/v1/service/routine-checks": _get(lambda b: f"{API}/service/routine-checks"),
    "GET /api/v1/service/routine-checks/{pk}": _get(lambda b: f"{API}/service/routine-checks/{b.routine_check.pk}"),
    "POST /api/v1/service/routine-checks/{pk}/submit": _post(
        lambda b: f"{API}/service/routine-checks/{b.routine_check.pk}/submit",
        lambda b: {"answers": {i.code: "pass" for i in template_items(b.routine_check.template)}}),
    "service:routines": _get(lambda b: "/service/routines/"),
    "service:routine_checks": _get(lambda b: "/service/routine-checks/"),
    "service:routine_check": _get(lambda b: f"/service/routine-checks/{b.routine_check.pk}/"),
    "service:inputs": _get(lambda b: "/service/inputs/"),
    "service:input_import": _get(lambda b: f"/service/inputs/{b.input_import.pk}/"),
    "service:ratings": _get(lambda b: "/service/ratings/"),
    "service:surveys": _get(lambda b: "/service/surveys/"),
    "service:call_centre": _get(lambda b: "/service/call-centre/"),
    "service:targets": _get(lambda b: "/service/targets/"),
    "service:target_delete": _post(lambda b: f"/service/targets/{b.target.pk}/delete/", form=True),
    "service:inspections": _get(lambda b: "/service/inspections/"),
    "service:inspection": _get(lambda b: f"/service/inspections/{b.visited.pk}/"),
    "service:supervisors": _get(lambda b: "/service/supervisors/"),
    "service:inspection_new": _post(lambda b: "/service/inspections/new/", lambda b: {
        "outlet": b.o11.pk, "supervisor": b.users["sb1mgr"].pk, "planned_on": str(clock.today()),
        "inspection_type": "video"}, form=True),
    "service:reinspect": _post(lambda b: f"/service/findings/{b.finding.pk}/reinspect/", lambda b: {
        "supervisor": b.users["sb1mgr"].pk, "planned_on": str(clock.today())}, form=True),
    "GET /api/v1/service/checklists": _get(lambda b: f"{API}/service/checklists"),
    "GET /api/v1/service/checklists/{pk}": _get(lambda b: f"{API}/service/checklists/{b.visited.template_id}"),
    "PATCH /api/v1/service/checklists/{pk}/items/{code}":
        _json("patch", lambda b: f"{API}/service/checklists/{b.visited.template_id}/items/l1",
              lambda b: {"weight": 6}),
    "service:checklists": _get(lambda b: "/service/checklists/"),
    "service:checklist": _get(lambda b: f"/service/checklists/{b.visited.template_id}/"),
    "service:checklist_item": _post(lambda b: f"/service/checklists/{b.visited.template_id}/items/l1/", lambda b: {
        "text": "1号岗不空岗", "weight": "6", "severity": "major"}, form=True),
    "POST /api/v1/service/findings/{pk}/deadline": _post(
        lambda b: f"{API}/service/findings/{b.finding.pk}/deadline",
        lambda b: {"deadline": str(clock.today() + timedelta(days=30)), "reason": "等待设备"}),
    "service:finding_deadline": _post(lambda b: f"/service/findings/{b.finding.pk}/deadline/", lambda b: {
        "deadline": str(clock.today() + timedelta(days=30)), "reason": "等待设备"}, form=True),
}


# The lists whose rows are checked: each row's id named by the seeded world (rows it does not name are
# counted as "?" — a row from outside the world would show up).
def _named(pairs):
    return lambda b: {obj.pk: name for name, obj in pairs(b)}


ROW_NAMES = {
    "GET /api/v1/cases/": _named(lambda b: [("case11", b.case11), ("case21", b.case21), ("rect11", b.rect11),
                                            ("feedback12", b.feedback12), ("insp_rect", b.insp_rect)]),
    "GET /api/v1/service/inspections": _named(lambda b: [("mystery", b.mystery), ("visited", b.visited)]),
    "GET /api/v1/coordination/items": _named(lambda b: [("released", b.released), ("conditional", b.conditional),
                                                        ("waiting", b.waiting), ("draft", b.draft)]),
    "GET /api/v1/coordination/meetings": _named(lambda b: [("meeting", b.meeting),
                                                           ("next_meeting", b.waiting.meeting)]),
    "GET /api/v1/coordination/conditions": _named(lambda b: [("condition", b.condition)]),
    "GET /api/v1/dispatch/work-orders": _named(lambda b: [(f"wo@{wo.institution.code}", wo)
                                                          for wo in b.released.work_orders.all()]),
    "GET /api/v1/service/runs": _named(lambda b: [("published", b.published_run), ("draft", b.draft_run)]),
    "GET /api/v1/service/runs/{pk}/outlets": _named(lambda b: [(o.code, o) for o in (b.o11, b.o12, b.o21)]),
    "GET /api/v1/queueing/imports": _named(lambda b: [("ticket_import", b.ticket_import)]),
    "GET /api/v1/service/ratings": _named(lambda b: [("rating11", b.rating11), ("rating21", b.rating21)]),
    "GET /api/v1/org/institutions": _named(lambda b: [(i.code, i) for i in
                                                      (b.ho, b.branch, b.gz, b.sb1, b.sb2, b.o11, b.o12, b.o21)]),
    "GET /api/v1/org/people": _named(lambda b: [(key, user.staff) for key, user in b.users.items()]),
}


def rows_seen(b, key, response) -> str:
    names = ROW_NAMES[key](b)
    body = response.json()
    rows = body["items"] if isinstance(body, dict) else body
    # A grading row is the outlet's: named by its outlet.
    return " ".join(sorted(names.get(row["id"] if "id" in row else row["outlet"]["id"], "?") for row in rows))


# --- discovery ------------------------------------------------------------------------------------

@functools.cache
def api_operations() -> set[str]:
    schema = ninja_api.get_openapi_schema()
    return {f"{method.upper()} {path}" for path, ops in schema["paths"].items() for method in ops}


def _walk(patterns, prefix="", namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}:{p.namespace}".strip(":") if p.namespace else namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), f"{namespace}:{p.name}".strip(":") if p.name else "", p.callback


def page_routes() -> set[str]:
    """Every page route by its name (the admin site's generated views as one: staff only, Django's)."""
    routes = set()
    for pattern, name, callback in _walk(get_resolver().url_patterns):
        if pattern.startswith("admin/"):
            routes.add("admin:*")
        elif getattr(callback, "__module__", "") == "ninja.operation":
            continue  # an API operation: the OpenAPI document lists it
        else:
            routes.add(name or pattern)
    return routes


# --- running ---------------------------------------------------------------------------------------

def _request(client, method, path, kwargs):
    """One request whose writes are rolled back: every cell sees the same world."""
    with transaction.atomic():
        response = getattr(client, method)(path, **kwargs)
        transaction.set_rollback(True)
    return response


@pytest.fixture
def world(db, tmp_path, settings):
    log = logging.getLogger("django.request")
    level = log.level
    log.setLevel(logging.ERROR)  # 403/404 are the expected answers here: no traceback logged for each
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.BRANCHOPS_QUEUE_DIR = tmp_path / "queueing"
    yield build_world(tmp_path)
    log.setLevel(level)


SIGNS_OUT = {"logout", "set_language"}  # they change the client's cookies


def _clients(b, client_factory, users=USERS):
    clients = {}
    for key in users:
        c = client_factory()
        if key != "anon":
            c.force_login(b.users[key])
        clients[key] = c
    return clients


TIMES = {}
ROWS_SEEN = {}
ANON_SENT_TO = {}


def observe(b, keys):
    from django.test import Client

    clients = _clients(b, Client)
    for found in (TIMES, ROWS_SEEN, ANON_SENT_TO):
        found.clear()
    seen = {}
    for key in keys:
        t0 = time.perf_counter()
        for user in USERS:
            method, path, kwargs = PROBES[key](b)
            client = clients[user]
            if key in SIGNS_OUT:  # on a client of its own: the shared one stays signed in
                client = _clients(b, Client, [user])[user]
            response = _request(client, method, path, kwargs)
            seen[key, user] = response.status_code
            if user == "anon" and method == "get" and response.status_code == 302:
                ANON_SENT_TO[key] = response["Location"]
            if key in ROW_NAMES and response.status_code == 200:
                ROWS_SEEN[key, user] = rows_seen(b, key, response)
        TIMES[key] = time.perf_counter() - t0
    return seen


# --- who opens which case type: every user × every case type, API and page -----------------------

C, F, S, R = CaseType.COMPLAINT, CaseType.FEEDBACK, CaseType.SUPPORT, CaseType.RECTIFICATION
OUTLET_TYPES = {C, F, S}
OPENS = {  # the case types each user opens (every other type: 403, page and API alike)
    "sec1": {C, F, S, R}, "sec_gz": {C, F, S, R}, "admin1": {C, F, S, R}, "admin_gz": {C, F, S, R},
    "head11": OUTLET_TYPES, "head21": OUTLET_TYPES, "staff11": OUTLET_TYPES, "staff21": OUTLET_TYPES,
    "sb1mgr": {R}, "sb2mgr": {R},
    "pfb1": {C}, "sub_cpp": {C},  # a business department registers the complaints that reach it
    "icc1": set(), "rev_gz": set(),  # reviewers review items; they open no case
    "leader1": set(), "leader_gz": set(),  # the branch leader only reads
}


def _home(b, user):
    """Where the user would open a case: their outlet, an outlet of their sub-branch or branch, or
    (outside the seeded branch) their own institution."""
    inst = user.staff.institution
    return {b.sb1: b.o11, b.sb2: b.o21, b.branch: b.o11}.get(inst, inst)


def walk_case_opening(b, clients) -> list[str]:
    wrong = []
    for key, types in OPENS.items():
        user = b.users[key]
        for case_type in CaseType.values:
            body = _case_body(b, case_type, _home(b, user))
            api = _request(clients[key], "post", f"{API}/cases/", {"data": body, "content_type": "application/json"})
            page = _request(clients[key], "get", f"/cases/new/?type={case_type}", {})
            want_api, want_page = (201, 200) if case_type in types else (403, 403)
            if (api.status_code, page.status_code) != (want_api, want_page):
                wrong.append(f"open {case_type} as {key}: API {api.status_code} (want {want_api}), "
                             f"page {page.status_code} (want {want_page})")
    anon = _request(clients["anon"], "post", f"{API}/cases/", {"data": _case_body(b, C, b.o11),
                                                                 "content_type": "application/json"})
    if anon.status_code != 401:
        wrong.append(f"open a complaint anonymously: {anon.status_code}")
    return wrong


# --- the tests ---------------------------------------------------------------------------------------

def test_every_route_is_declared():
    discovered = api_operations() | page_routes()
    assert sorted(discovered - set(EXPECTED)) == [], "a route without its row in EXPECTED (and PROBES)"
    assert sorted(set(EXPECTED) - discovered) == [], "a declared route that no longer exists"
    assert set(PROBES) == set(EXPECTED)
    for key, answers in EXPECTED.items():
        users = Counter(u for listed in answers.values() for u in listed.split())
        assert users == Counter(USERS), f"{key}: every user answered once ({users - Counter(USERS)})"
    assert set(OPENS) == set(ROLES) | set(OUT_OF_SCOPE)
    assert set(ROWS) == set(ROW_NAMES)


def test_authorisation_matrix(world, request, monkeypatch):
    from django.test import Client

    # The OpenAPI document is the same for every reader: build it once, not 17 times.
    built, build = {}, ninja_api.get_openapi_schema

    def once(*args, **kwargs):
        key = repr((args, sorted(kwargs.items())))
        if key not in built:
            built[key] = build(*args, **kwargs)
        return built[key]

    monkeypatch.setattr(ninja_api, "get_openapi_schema", once)

    seen = observe(world, sorted(EXPECTED))
    wrong = []
    for key, answers in EXPECTED.items():
        for status, users in answers.items():
            wrong += [f"{key} as {u}: {seen[key, u]} (want {status})" for u in users.split() if seen[key, u] != status]
    for key, by_rows in ROWS.items():
        want = {u: rows for rows, users in by_rows.items() for u in users.split()}
        for user in USERS:
            if ROWS_SEEN.get((key, user)) != want.get(user):
                wrong.append(f"{key} rows as {user}: {ROWS_SEEN.get((key, user))!r} (want {want.get(user)!r})")
    wrong += [f"{key} sends the anonymous to {to}, not the sign-in page" for key, to in ANON_SENT_TO.items()
              if not to.startswith(("/accounts/login/", "/admin/login/"))]  # the admin site has its own
    wrong += walk_case_opening(world, _clients(world, Client))
    cells = len(EXPECTED) * len(USERS) + len(OPENS) * len(CaseType.values) * 2 + 1
    request.config.stash[MATRIX_SIZE] = (f"authorisation matrix: {len(EXPECTED)} routes ({len(api_operations())} API "
                                         f"operations, {len(page_routes())} pages) × {len(USERS)} users "
                                         f"({len(ROLES)} roles, {len(OUT_OF_SCOPE)} out of scope, anonymous) "
                                         f"+ case opening {len(OPENS)} users × {len(CaseType.values)} types × "
                                         f"API/page = {cells} answers checked, {len(ROWS)} lists row by row")
    print(request.config.stash[MATRIX_SIZE])
    assert not wrong, f"{len(wrong)} of {cells} answers differ from the matrix:\n" + "\n".join(wrong)


def test_dump(world):
    if not DUMP:
        pytest.skip("AUTHZ_MATRIX_DUMP not set")
    seen = observe(world, sorted(PROBES))
    with open(DUMP, "w") as out:
        for key in sorted(PROBES):
            by_status = {}
            for user in USERS:
                by_status.setdefault(seen[key, user], []).append(user)
            cells = ", ".join(f"{status}: {' '.join(users)!r}" for status, users in sorted(by_status.items()))
            out.write(f"{key!r}: {{{cells}}},  # {TIMES[key]:.2f}s\n")
        for key in sorted(ROW_NAMES):
            by_rows = {}
            for user in USERS:
                if (key, user) in ROWS_SEEN:
                    by_rows.setdefault(ROWS_SEEN[key, user], []).append(user)
            cells = ", ".join(f"{rows!r}: {' '.join(users)!r}" for rows, users in by_rows.items())
            out.write(f"ROWS {key!r}: {{{cells}}},\n")
