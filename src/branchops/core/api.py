from datetime import date, datetime

from ninja import Router, Schema

from . import queries, services, workdays

router = Router(tags=["me"])


class NotificationOut(Schema):
    id: int
    title: str
    body: str
    url: str
    created_at: datetime
    read_at: datetime | None


@router.get("/me/notifications", response=list[NotificationOut], summary="My notifications, newest first")
def my_notifications(request, unread: bool = False, limit: int = 50):
    return list(queries.my_notifications(request.user, unread_only=unread)[: max(1, min(limit, 200))])


@router.post("/me/notifications/read", summary="Mark all (or the given) notifications read")
def read_notifications(request, ids: list[int] | None = None):
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
def working_day(request, on: date):
    return {"date": on, "is_working_day": workdays.is_working_day(on)}


@router.get("/calendar/add-working-days", response=AddWorkingDaysOut, tags=["calendar"],
            summary="The n-th working day after a date (the date itself not counted)")
def add_working_days(request, start: date, days: int):
    if abs(days) > 3660:
        from django.core.exceptions import ValidationError

        raise ValidationError({"days": "days must be between -3660 and 3660"})
    return {"start": start, "days": days, "result": workdays.add_working_days(start, days)}


