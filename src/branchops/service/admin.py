"""The admin as a fallback for editing grading schemes (a scheme in use is frozen: make a new version)."""

from django.contrib import admin

from .models import Dimension, GradeBand, GradingScheme, Indicator, VetoRule


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
