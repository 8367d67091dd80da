from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import CertificateType, PostModel, Skill


@admin.register(CertificateType)
class CertificateTypeAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "validity_months", "required_for_csm", "is_active", "sort_order")
    search_fields = ("code", "name")


@admin.register(Skill)
class SkillAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "is_core", "certificate_type", "is_active", "sort_order")
    search_fields = ("code", "name")


@admin.register(PostModel)
class PostModelAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "is_current", "sort_order")

