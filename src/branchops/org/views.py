from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from branchops.core import limits
from branchops.core import services as core_services
from branchops.core.audit import timeline
from branchops.core.forms import ApiTokenForm
from branchops.core.queries import paginate
from branchops.core.xlsx import export_list, workbook_response

from . import queries, services
from .forms import DepartmentForm, HoursForm, ImportForm, InstitutionForm, StaffForm
from .models import Level, OutletType, Post
from .roles import Role
from .scope import in_scope, visible_institutions


def _int(value):
    return limits.whole_number(value)


def _record_to_edit(request, access, pk, model_name: str):
    """The record an edit page works on (None for a new one), after the permission check."""
    user = request.user
    record = access(user, pk) if pk else None
    allowed = (user.has_perm(f"org.change_{model_name}_object", record) if record is not None
               else user.has_perm(f"org.add_{model_name}"))
    if not allowed:
        raise PermissionDenied
    return record


def _apply_errors(form, exc: ValidationError):
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@login_required
@permission_required("org.view_institution", raise_exception=True)
def institution_tree(request):
    return render(request, "org/tree.html", {"tree": queries.institution_tree(request.user)})


def _institution_filters(request):
    return {
        "q": request.GET.get("q", "").strip(),
        "level": request.GET.get("level", ""),
        "outlet_type": request.GET.get("outlet_type", ""),
        "cluster": request.GET.get("cluster", ""),
        "parent": _int(request.GET.get("parent")),
    }


@login_required
@permission_required("org.view_institution", raise_exception=True)
def institution_list(request):
    filters = _institution_filters(request)
    qs = queries.institutions(request.user, **filters)
    if request.GET.get("format") == "xlsx":
        if not request.user.has_perm("org.export_org"):
            raise PermissionDenied
        headers = [_("Code"), _("Name"), _("Level"), _("Parent"), _("Outlet type"), _("Cluster"),
                   _("Cluster role"), _("Counters"), _("Smart devices"), _("Address"), _("Public phone")]
        rows = ([i.code, i.name, i.get_level_display(), i.parent.name if i.parent else "",
                 i.outlet_type or "", i.cluster or "", i.get_cluster_role_display(), i.counters,
                 i.smart_devices, i.address, i.phone] for i in qs)
        return export_list("institutions.xlsx", _("Institutions"), headers, rows)
    return render(request, "org/institution_list.html", {
        "page": paginate(request, qs), "filters": filters, "levels": Level.choices,
        "outlet_types": OutletType.objects.filter(is_active=True),
        "clusters": queries.clusters(request.user),
    })


@login_required
def institution_detail(request, pk):
    inst = queries.access_institution(request.user, pk)
    return render(request, "org/institution_detail.html", {
        "inst": inst,
        "ancestors": [a for a in inst.ancestors() if in_scope(request.user, a)],
        "children": queries.institutions(request.user, parent=inst.pk),
        "departments": queries.departments(request.user, institution=inst.pk),
        "hours": inst.business_hours.all(),
        "staff_count": queries.staff(request.user, institution=inst.pk).count(),
        "cluster_members": inst.cluster.outlets.order_by("-is_hub", "code") if inst.cluster_id else [],
        "timeline": timeline(inst),
        "can_change": request.user.has_perm("org.change_institution_object", inst),
    })


@login_required
def institution_edit(request, pk=None):
    inst = _record_to_edit(request, queries.access_institution, pk, "institution")
    visible = visible_institutions(request.user)
    initial = {"parent": _int(request.GET.get("parent"))} if inst is None else None
    form = InstitutionForm(request.POST or None, instance=inst, visible=visible, initial=initial)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            saved = services.save_institution(request.user, inst, **fields)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("org:institution_detail", pk=saved.pk)
    return render(request, "org/form.html", {
        "form": form, "title": _("Edit institution") if inst else _("New institution"),
        "back": inst.get_absolute_url() if inst else None,
    })


@login_required
def institution_hours(request, pk):
    inst = queries.access_institution(request.user, pk)
    if not request.user.has_perm("org.change_institution_object", inst):
        raise PermissionDenied
    form = HoursForm(request.POST or None, institution=inst)
    if request.method == "POST" and form.is_valid():
        try:
            services.set_business_hours(request.user, inst, form.cleaned_data["hours"])
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Business hours saved."))
            return redirect("org:institution_detail", pk=inst.pk)
    return render(request, "org/form.html", {"form": form, "title": _("Business hours of %(name)s") % {
        "name": inst.name}, "back": inst.get_absolute_url()})


@login_required
@permission_required("org.view_department", raise_exception=True)
def department_list(request):
    filters = {"q": request.GET.get("q", "").strip(), "kind": request.GET.get("kind", ""),
               "institution": _int(request.GET.get("institution"))}
    qs = queries.departments(request.user, **filters)
    if request.GET.get("format") == "xlsx":
        if not request.user.has_perm("org.export_org"):
            raise PermissionDenied
        yes, no = _("Yes"), _("No")
        headers = [_("Institution"), _("Code"), _("Name"), _("Business department"), _("Review department"),
                   _("Secretariat"), _("Staff")]
        rows = ([d.institution.name, d.code, d.name, yes if d.is_business else no, yes if d.is_review else no,
                 yes if d.is_secretariat else no, d.staff_count] for d in qs)
        return export_list("departments.xlsx", _("Departments"), headers, rows)
    return render(request, "org/department_list.html", {"page": paginate(request, qs), "filters": filters})


@login_required
def department_detail(request, pk):
    dept = queries.access_department(request.user, pk)
    return render(request, "org/department_detail.html", {
        "dept": dept,
        "people": queries.staff(request.user, department=dept.pk)[:200],
        "timeline": timeline(dept),
        "can_change": request.user.has_perm("org.change_department_object", dept),
    })


@login_required
def department_edit(request, pk=None):
    dept = _record_to_edit(request, queries.access_department, pk, "department")
    initial = {"institution": _int(request.GET.get("institution"))} if dept is None else None
    form = DepartmentForm(request.POST or None, instance=dept, visible=visible_institutions(request.user),
                          initial=initial)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            saved = services.save_department(request.user, dept, **fields)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("org:department_detail", pk=saved.pk)
    return render(request, "org/form.html", {
        "form": form, "title": _("Edit department") if dept else _("New department"),
        "back": dept.get_absolute_url() if dept else None,
    })


def _staff_filters(request):
    active = request.GET.get("active", "1")
    return {
        "q": request.GET.get("q", "").strip(),
        "institution": _int(request.GET.get("institution")),
        "department": _int(request.GET.get("department")),
        "post": request.GET.get("post", ""),
        "role": request.GET.get("role", ""),
        "active": {"1": True, "0": False}.get(active),
    }


@login_required
@permission_required("org.view_staff", raise_exception=True)
def staff_list(request):
    filters = _staff_filters(request)
    qs = queries.staff(request.user, **filters)
    if request.GET.get("format") == "xlsx":
        if not request.user.has_perm("org.export_org"):
            raise PermissionDenied
        people = list(qs)
        roles = queries.roles_by_user([p.user_id for p in people])
        labels = dict(Role.choices)
        headers = [_("Staff number"), _("Name"), _("User name"), _("Institution"), _("Department"), _("Post"),
                   _("Teller number"), _("Phone"), _("Email"), _("Roles"), _("Active")]
        rows = ([p.staff_no, p.name, p.user.username, p.institution.name, p.department or "", p.post or "",
                 p.teller_no, p.phone, p.email, "、".join(str(labels[r]) for r in roles.get(p.user_id, [])),
                 _("Yes") if p.is_active else _("No")] for p in people)
        return export_list("staff.xlsx", _("Staff"), headers, rows)
    page = paginate(request, qs)
    roles = queries.roles_by_user([p.user_id for p in page])
    labels = dict(Role.choices)
    for person in page:
        person.role_labels = [labels[r] for r in roles.get(person.user_id, [])]
    return render(request, "org/staff_list.html", {
        "page": page, "filters": filters, "posts": Post.objects.filter(is_active=True), "roles": Role.choices,
    })


@login_required
def staff_detail(request, pk):
    person = queries.access_staff(request.user, pk)
    return render(request, "org/staff_detail.html", {
        "person": person,
        "roles": queries.role_labels(person.user),
        "timeline": timeline(person),
        "can_change": request.user.has_perm("org.change_staff_object", person),
    })


@login_required
def staff_edit(request, pk=None):
    person = _record_to_edit(request, queries.access_staff, pk, "staff")
    initial = None
    if person is not None:
        initial = {
            "staff_no": person.staff_no, "name": person.name, "username": person.user.username,
            "institution": person.institution, "department": person.department, "post": person.post,
            "teller_no": person.teller_no, "phone": person.phone, "email": person.email, "is_active": person.is_active,
            "roles": [g.name for g in person.user.groups.filter(name__in=Role.values)],
        }
    form = StaffForm(request.POST or None, initial=initial, visible=visible_institutions(request.user),
                     editing=person is not None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        username, roles = data.pop("username"), data.pop("roles")
        try:
            saved = services.save_staff(request.user, person, username=username if person is None else None,
                                        roles=roles, **data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("org:staff_detail", pk=saved.pk)
    return render(request, "org/form.html", {
        "form": form, "title": _("Edit staff member") if person else _("New staff member"),
        "back": person.get_absolute_url() if person else None,
    })


@login_required
@permission_required("org.export_org", raise_exception=True)
def org_export(request):
    from .importer import export_workbook

    return workbook_response(export_workbook(request.user), "branchops-organisation.xlsx")


@login_required
@permission_required("org.import_org", raise_exception=True)
def org_import(request):
    """Upload → dry run shown as a preview → confirm applies the same file, all or nothing."""
    from .importer import import_workbook

    result = None
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        apply = request.POST.get("apply") == "1"
        result = import_workbook(request.user, form.cleaned_data["file"], dry_run=not apply)
        if apply and result.ok:
            messages.success(request, _("Import applied: %(n)s changes.") % {"n": len(result.changes)})
            return redirect("org:import")
    return render(request, "org/import.html", {"form": form, "result": result})


@login_required
def profile(request):
    user = request.user
    new_token = None
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_token = core_services.create_api_token(user, form.cleaned_data["name"], form.cleaned_data["days"],
                                                                  read_only=form.cleaned_data["read_only"])
            form = ApiTokenForm()
        except ValidationError as exc:
            form.add_error(None, exc)
    return render(request, "core/profile.html", {
        "staff": getattr(user, "staff", None),
        "tokens": user.api_tokens.all(),
        "form": form,
        "new_token": new_token,
        "roles": queries.role_labels(user),
    })
