"""The navigation that modules plug into: each app registers its entries in AppConfig.ready()."""

from dataclasses import dataclass, field

from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str  # a lazy translation
    url_name: str
    icon: str = "circle"
    perms: tuple[str, ...] = field(default_factory=tuple)  # any one of them suffices
    order: int = 100


_ITEMS: dict[str, NavItem] = {}


def register(item: NavItem) -> None:
    _ITEMS[item.key] = item


def items_for(user) -> list[dict]:
    if not user.is_authenticated:
        return []
    out = []
    for item in sorted(_ITEMS.values(), key=lambda i: (i.order, i.key)):
        if item.perms and not any(user.has_perm(p) for p in item.perms):
            continue
        out.append({"key": item.key, "label": item.label, "url": reverse(item.url_name), "icon": item.icon})
    return out


# "My work" on the home page: each module registers a function user -> section dict or None
# ({"title", "items": [{"title", "url", "meta", "overdue"}], "count", "url", "empty_message"}).
_WORK_SECTIONS: dict[str, tuple[int, object]] = {}


def register_work_section(key: str, fn, order: int = 100) -> None:
    _WORK_SECTIONS[key] = (order, fn)


def work_sections_for(user) -> list[dict]:
    out = []
    for _order, fn in sorted(_WORK_SECTIONS.values(), key=lambda x: x[0]):
        section = fn(user)
        if section is not None:
            out.append(section)
    return out
