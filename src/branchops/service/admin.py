"""The admin as a fallback for editing grading schemes (a scheme in use is frozen: make a new version)."""

from django.contrib import admin

from .models import (
    ChecklistItem,
    ChecklistSection,
    ChecklistTemplate,
    Dimension,
    GradeBand,
    GradingScheme,
    Indicator,
    VetoRule,
)


class DimensionInline(admin.TabularInline):
    model = Dimension
    extra = 0


class IndicatorInline(admin.TabularInline):
    model = Indicator
    extra = 0


class BandInline(admin.TabularInline):
    model = GradeBand
    extra = 0


class VetoInline(admin.TabularInline):
    model = VetoRule
    extra = 0


@admin.register(GradingScheme)
class GradingSchemeAdmin(admin.ModelAdmin):
    list_display = ("code", "version", "name", "effective_from", "effective_to", "method", "missing_rule")
    inlines = [DimensionInline, IndicatorInline, BandInline, VetoInline]

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj is not None and obj.in_use)


# Checklists: a version an inspection used is frozen (``services.new_template_version`` makes a copy).

class SectionInline(admin.TabularInline):
    model = ChecklistSection
    extra = 0


class ItemInline(admin.TabularInline):
    model = ChecklistItem
    extra = 0


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(admin.ModelAdmin):
    list_display = ("code", "version", "name", "inspection_type", "effective_from")
    inlines = [SectionInline]

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj is not None and obj.in_use)


@admin.register(ChecklistSection)
class ChecklistSectionAdmin(admin.ModelAdmin):
    list_display = ("template", "code", "name", "sort_order")
    inlines = [ItemInline]

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj is not None and obj.template.in_use)
