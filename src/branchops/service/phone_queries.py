"""Reads of the public-phone governance, shared by pages, API and xlsx (never writing). Scope: an
outlet sees its own numbers, calls and corrections; a sub-branch its outlets; the branch all."""

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from branchops.org.models import Institution, Level
from branchops.org.scope import scope_q

from .phonebook import CallResult, PhoneCall, PhoneCampaign, PhoneCorrection, PhoneEntry


def _reads(user, perm: str) -> bool:
    return user.is_authenticated and user.has_perm(perm)


def visible_phones(user, *, outlet: int | None = None, kind: str = "", q: str = "",
                   active: bool | None = None) -> QuerySet:
    if not _reads(user, "service.view_phoneentry"):
        return PhoneEntry.objects.none()
    qs = PhoneEntry.objects.select_related("outlet").filter(scope_q(user, "outlet"))
    if outlet:
        qs = qs.filter(outlet_id=outlet)
    if kind:
        qs = qs.filter(kind=kind)
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(outlet__name__icontains=q) | Q(outlet__code__icontains=q)
                       | Q(published_at__icontains=q))
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs.order_by("outlet__path", "kind", "number", "id")


def access_phone(user, pk: int) -> PhoneEntry:
    entry = visible_phones(user).filter(pk=pk).first()
    if entry is None:
        raise Http404
    return entry


def visible_campaigns(user) -> QuerySet:
    """Campaigns whose scope meets the reader's: the branch's campaign is seen by its outlets too (their
    own calls only, ``campaign_calls``)."""
    if not _reads(user, "service.view_phonecampaign"):
        return PhoneCampaign.objects.none()
    from branchops.org.scope import scope_root, sees_everything

    qs = PhoneCampaign.objects.select_related("scope")
    if not sees_everything(user):
        root = scope_root(user)
        if root is None:
            return PhoneCampaign.objects.none()
        # a campaign over the reader's scope (the branch's, seen by an outlet) or inside it
        qs = qs.filter(Q(scope__path__startswith=root.path) | Q(scope_id__in=root.ancestor_ids()))
    return qs.order_by("-starts_on", "-id")


def access_campaign(user, pk: int) -> PhoneCampaign:
    campaign = visible_campaigns(user).filter(pk=pk).first()
    if campaign is None:
        raise Http404
    return campaign


def campaign_calls(user, campaign: PhoneCampaign, *, result: str = "", outlet: int | None = None,
                   q: str = "") -> QuerySet:
    qs = (PhoneCall.objects.filter(campaign=campaign).filter(scope_q(user, "entry__outlet"))
          .select_related("entry__outlet", "called_by__staff", "correction", "campaign"))
    if result:
        qs = qs.filter(result=result)
    if outlet:
        qs = qs.filter(entry__outlet_id=outlet)
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(entry__outlet__name__icontains=q)
                       | Q(entry__outlet__code__icontains=q))
    return qs.order_by("entry__outlet__path", "entry__kind", "id")


def access_call(user, pk: int) -> PhoneCall:
    call = (PhoneCall.objects.filter(pk=pk, campaign__in=visible_campaigns(user)).filter(scope_q(user, "entry__outlet"))
            .select_related("campaign", "entry__outlet").first())
    if call is None:
        raise Http404
    return call


def campaign_figures(user, campaign: PhoneCampaign) -> dict:
    """The seed's figures (2,300 checked, 327 wrong): to call, checked (answered + wrong + unanswered),
    wrong, unanswered, corrected (wrong numbers whose correction is closed), within the reader's scope."""
    calls = campaign_calls(user, campaign).order_by()
    f = calls.aggregate(total=Count("id"), answered=Count("id", filter=Q(result=CallResult.ANSWERED)),
                        wrong=Count("id", filter=Q(result=CallResult.WRONG)),
                        unanswered=Count("id", filter=Q(result=CallResult.UNANSWERED)),
                        corrected=Count("id", filter=Q(correction__closed_at__isnull=False)))
    f["checked"] = f["answered"] + f["wrong"] + f["unanswered"]
    f["pending"] = f["total"] - f["checked"]
    f["wrong_share"] = round(f["wrong"] / f["checked"], 4) if f["checked"] else None
    return f


def visible_corrections(user, *, open_only: bool = False, outlet: int | None = None, campaign: int | None = None,
                        overdue: bool = False, today=None) -> QuerySet:
    if not _reads(user, "service.view_phonecorrection"):
        return PhoneCorrection.objects.none()
    qs = (PhoneCorrection.objects.filter(scope_q(user, "entry__outlet"))
          .select_related("entry__outlet", "call__campaign", "owner__staff", "closed_by__staff"))
    if open_only or overdue:
        qs = qs.filter(closed_at__isnull=True)
    if overdue and today is not None:
        qs = qs.filter(due__lt=today)
    if outlet:
        qs = qs.filter(entry__outlet_id=outlet)
    if campaign:
        qs = qs.filter(call__campaign_id=campaign)
    return qs.order_by("closed_at", "due", "id")


def access_correction(user, pk: int) -> PhoneCorrection:
    correction = visible_corrections(user).filter(pk=pk).first()
    if correction is None:
        raise Http404
    return correction


def campaign_scopes(user) -> QuerySet:
    """Where the user may open a campaign: branches and sub-branches in their scope."""
    if not user.has_perm("service.add_phonecampaign"):
        return Institution.objects.none()
    return (Institution.objects.filter(level__in=[Level.TIER1_BRANCH, Level.TIER2_BRANCH, Level.SUB_BRANCH],
                                       is_active=True).filter(scope_q(user, "")).order_by("path"))


def phone_outlets(user) -> QuerySet:
    """The outlets whose numbers the user may edit."""
    if not user.has_perm("service.change_phoneentry"):
        return Institution.objects.none()
    return Institution.objects.filter(level=Level.OUTLET, is_active=True).filter(scope_q(user, "")).order_by("path")
