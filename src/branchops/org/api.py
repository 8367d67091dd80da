from datetime import datetime

from django.core.exceptions import PermissionDenied
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from branchops.core.api import ErrorOut, Id, Pages
from branchops.core.audit import timeline

from . import queries
from .roles import Role, user_roles

router = Router(tags=["org"])


class Ref(Schema):
    id: int
    code: str
    name: str


def _local_time():
    return Field(description="Local time of day, HH:MM:SS (no UTC offset: OpenAPI's format time needs one)",
                 pattern=r"^\d{2}:\d{2}:\d{2}$")


class HoursOut(Schema):
    weekday: int
    opens_at: str | None = _local_time()
    closes_at: str | None = _local_time()

    @staticmethod
    def resolve_opens_at(obj):
        return obj.opens_at.isoformat() if obj.opens_at else None

    @staticmethod
    def resolve_closes_at(obj):
        return obj.closes_at.isoformat() if obj.closes_at else None


class InstitutionOut(Schema):
    id: int
    code: str
    name: str
    short_name: str
    level: str
    parent_id: int | None
    address: str
    phone: str
    outlet_type: str | None
    counters: int
    smart_devices: int
    cluster: str | None
    cluster_role: str
    is_active: bool

    @staticmethod
    def resolve_outlet_type(obj):
        return obj.outlet_type.code if obj.outlet_type_id else None

    @staticmethod
    def resolve_cluster(obj):
        return obj.cluster.code if obj.cluster_id else None


class InstitutionDetailOut(InstitutionOut):
    business_hours: list[HoursOut]
    path: list[Ref]

    @staticmethod
    def resolve_business_hours(obj):
        return list(obj.business_hours.all())

    @staticmethod
    def resolve_path(obj):
        return [{"id": a.id, "code": a.code, "name": a.name} for a in obj.ancestors()]


class InstitutionFilter(Schema):
    q: str = ""
    level: str = ""
    parent: Id | None = None
    outlet_type: str = ""
    cluster: str = ""
    active: bool | None = None


@router.get("/institutions", response=list[InstitutionOut], summary="Institutions within my scope")
@paginate(Pages)
def list_institutions(request, filters: Query[InstitutionFilter]):
    return queries.institutions(request.user, **filters.dict())


@router.get("/institutions/{int:pk}", response=InstitutionDetailOut)
def get_institution(request, pk: Id):
    return queries.access_institution(request.user, pk)


class EventOut(Schema):
    when: datetime
    who: str
    action: str
    message: str
    changes: list[dict]


@router.get("/institutions/{int:pk}/history", response=list[EventOut], summary="Who changed what, and when")
def institution_history(request, pk: Id):
    return [_event(e) for e in timeline(queries.access_institution(request.user, pk))]


def _event(e):
    return {"when": e.when, "who": e.who, "action": e.action, "message": e.message,
            "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in e.changes]}


class DepartmentOut(Schema):
    id: int
    code: str
    name: str
    institution: Ref
    is_business: bool
    is_review: bool
    is_secretariat: bool
    is_active: bool
    staff_count: int = 0


@router.get("/departments", response=list[DepartmentOut])
@paginate(Pages)
def list_departments(request, q: str = "", institution: Id | None = None, kind: str = ""):
    return queries.departments(request.user, q=q, institution=institution, kind=kind)


@router.get("/departments/{int:pk}", response=DepartmentOut)
def get_department(request, pk: Id):
    return queries.departments(request.user).filter(pk=queries.access_department(request.user, pk).pk).get()


class StaffOut(Schema):
    id: int
    staff_no: str
    name: str
    username: str
    institution: Ref
    department: Ref | None
    post: str | None
    teller_no: str
    phone: str
    email: str
    is_active: bool

    @staticmethod
    def resolve_username(obj):
        return obj.user.username

    @staticmethod
    def resolve_post(obj):
        return obj.post.code if obj.post_id else None


class StaffDetailOut(StaffOut):
    roles: list[str]

    @staticmethod
    def resolve_roles(obj):
        names = {g.name for g in obj.user.groups.all()}
        return [r for r in Role.values if r in names]


class StaffFilter(Schema):
    q: str = ""
    institution: Id | None = None
    department: Id | None = None
    post: str = ""
    role: str = ""
    active: bool | None = True


@router.get("/people", response=list[StaffOut], summary="Staff within my scope")
@paginate(Pages)
def list_people(request, filters: Query[StaffFilter]):
    return queries.staff(request.user, **filters.dict())


@router.get("/people/{int:pk}", response=StaffDetailOut)
def get_person(request, pk: Id):
    return queries.access_staff(request.user, pk)


@router.get("/people/{int:pk}/history", response=list[EventOut])
def person_history(request, pk: Id):
    return [_event(e) for e in timeline(queries.access_staff(request.user, pk))]


class RowErrorOut(Schema):
    sheet: str
    row: int
    field: str
    message: str


class OrgImportOut(Schema):
    ok: bool
    dry_run: bool
    errors: list[RowErrorOut] = Field(description="The first 200 errors found")
    more_errors: int = Field(0, description="Errors found past the first 200, counted but not listed")
    summary: dict[str, dict[str, int]]
    changes: list[dict]


@router.post("/import", response={200: OrgImportOut, 400: OrgImportOut | ErrorOut},
             summary="Import institutions, departments and staff from xlsx (all-or-nothing; dry_run previews)")
def import_org(request, file: File[UploadedFile], dry_run: bool = True):
    from .importer import import_workbook

    if not request.user.has_perm("org.import_org"):
        raise PermissionDenied
    result = import_workbook(request.user, file, dry_run=dry_run)
    return Status(200 if result.ok else 400, result.as_dict())


# --- the signed-in user (/api/v1/me; mounted at the API root) ------------------------------------

me_router = Router(tags=["me"])


class InstitutionRef(Schema):
    id: int
    code: str
    name: str
    level: str


class MeOut(Schema):
    id: int
    username: str
    name: str
    staff_no: str | None
    institution: InstitutionRef | None
    department: str | None
    post: str | None
    roles: list[str]
    language: str


@me_router.get("/me", response=MeOut, summary="The signed-in user, their institution and roles")
def me(request):
    user = request.user
    staff = getattr(user, "staff", None)
    inst = staff.institution if staff else None
    return {
        "id": user.id,
        "username": user.get_username(),
        "name": staff.name if staff else user.get_full_name() or user.get_username(),
        "staff_no": staff.staff_no if staff else None,
        "institution": inst and {"id": inst.id, "code": inst.code, "name": inst.name, "level": inst.level},
        "department": staff.department.name if staff and staff.department else None,
        "post": staff.post.name if staff and staff.post else None,
        "roles": user_roles(user),
        "language": request.LANGUAGE_CODE,
    }
