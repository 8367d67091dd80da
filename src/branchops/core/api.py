from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from django.http import Http404
from ninja import Query, Router, Schema
from ninja.pagination import PageNumberPagination
from pydantic import Field, WithJsonSchema

from . import limits, queries, services, workdays
from .actions import ActionTable

# --- what a client may send (bounds from core.limits, declared in the OpenAPI document) -----------

Id = Annotated[int, Field(ge=1, le=limits.MAX_ID)]
Year = Annotated[int, Field(ge=limits.MIN_YEAR, le=limits.MAX_YEAR)]
Day = Annotated[date, Field(ge=limits.MIN_DATE, le=limits.MAX_DATE)]
IdList = Annotated[list[Id], Field(max_length=limits.MAX_LIST)]
Version = Annotated[int, Field(ge=0, le=limits.MAX_ID)]
# A decimal as a number or its text; the document says which text (pydantic's would allow any string).
DECIMAL_TEXT = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
Amount = Annotated[Decimal, WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string", "pattern": DECIMAL_TEXT}]})]


def one_of(values):
    """A filter chosen from a list, empty meaning not given: the document lists the values the service
    accepts, so a client (or a fuzzer) reading it cannot send one the service refuses."""
    return Field("", json_schema_extra={"enum": ["", *values]})


class ErrorOut(Schema):
    """Every 4xx answer: ``detail`` is a message, or for 400 the messages per field (``__all__`` for
    the request as a whole)."""

    detail: str | dict[str, list[str]]


class Pages(PageNumberPagination):
    """Every paginated list: ``page`` 1..100,000 and ``page_size`` 1..500, else 400 naming the field;
    a page past the last is empty and ``count`` still says how many rows there are."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=limits.MAX_PAGE)
        page_size: int = Field(50, ge=1, le=limits.MAX_PAGE_SIZE)

    def __init__(self, **kwargs):
        super().__init__(page_size=50, max_page_size=limits.MAX_PAGE_SIZE, **kwargs)


router = Router(tags=["me"])


# --- actions ---------------------------------------------------------------------------------------

class ActionInput(Schema):
    """An action's typed input in the API (the ``schema`` of its entry in an action table):
    ``data(user, obj)`` gives the service's keyword arguments — the fields as given, or, where the
    client sends ids and codes, the rows (an unknown one is a 400 naming the field)."""

    def data(self, user, obj) -> dict:
        return self.dict(exclude={"version"})


class VersionedInput(ActionInput):
    version: Version | None = Field(None, description="The version shown to the user: a stale one is refused with 400 "
                                                  "and nothing changes.")


def run_action(table: ActionTable, user, obj, name: str, payload: Schema | None):
    """An action through the API: 404 for a name the table does not know (or one with no API input),
    403 when its predicate refuses, then its typed input read from the payload, the version the
    client saw when the action is versioned, and the service — which answers for the state (400)."""
    action = table.authorize(user, obj, name)
    if action.schema is None:
        raise Http404
    typed = action.schema(**(payload.dict() if payload is not None else {}))
    data = typed.data(user, obj)
    if action.versioned:
        data["expected_version"] = typed.version
    return action.run(user, obj, data)


class NotificationOut(Schema):
    id: int
    title: str
    body: str
    url: str
    created_at: datetime
    read_at: datetime | None


@router.get("/me/notifications", response=list[NotificationOut], summary="My notifications, newest first")
def my_notifications(request, unread: bool = False, limit: Annotated[int, Field(ge=1, le=200)] = 50):
    return list(queries.my_notifications(request.user, unread_only=unread)[: max(1, min(limit, 200))])


@router.post("/me/notifications/read", summary="Mark all (or the given) notifications read")
def read_notifications(request, ids: list[Id] | None = Query(None, max_length=limits.MAX_LIST)):  # noqa: B008
    # Query() explicitly: ninja reads a query list only when it sees a bare list annotation, and the
    # document already promised ``?ids=1&ids=2``.
    return {"marked": services.mark_notifications_read(request.user, ids)}


class WorkingDayOut(Schema):
    date: date
    is_working_day: bool


class AddWorkingDaysOut(Schema):
    start: date
    days: int
    result: date


@router.get("/calendar/working-day", response=WorkingDayOut, tags=["calendar"],
            summary="Is this date a working day (statutory holidays and make-up days included)?")
def working_day(request, on: Day):
    return {"date": on, "is_working_day": workdays.is_working_day(on)}


@router.get("/calendar/add-working-days", response=AddWorkingDaysOut, tags=["calendar"],
            summary="The n-th working day after a date (the date itself not counted)")
def add_working_days(request, start: Day, days: Annotated[int, Field(ge=-3660, le=3660)]):
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    result = workdays.add_working_days(start, days)
    if not limits.date_in_range(result):
        raise ValidationError({"days": _("The result must fall between %(first)s and %(last)s.") % {
            "first": limits.MIN_DATE, "last": limits.MAX_DATE}})
    return {"start": start, "days": days, "result": result}


