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


# The lists whose filters a user may save (their URL names, each with its label).
_FILTERABLE: dict[str, object] = {}


def register_filterable(url_name: str, label) -> None:
    _FILTERABLE[url_name] = label


def filterable_lists() -> dict[str, object]:
    return dict(_FILTERABLE)


# "My work" on the home page: each module registers a function user -> section dict or None:
# {"title", "figures": [figure(...)], "items": [entry(...)], "count", "url", "empty_message", "note"}.
# Every figure that counts rows links to the list that shows exactly those rows (the home page test
# follows each link and compares); a figure that is a measure (a waiting time) links to its page.
_WORK_SECTIONS: dict[str, tuple[int, object]] = {}


def figure(label, count, url: str, *, tone: str = "", value: str | None = None) -> dict:
    """A number on the home page and the list behind it; ``value`` for a measure (then ``count`` is None)."""
    return {"label": label, "count": count, "url": url, "tone": tone, "value": value if value is not None else count}


def entry(title: str, url: str, meta: str = "", *, overdue: bool = False) -> dict:
    """One row of a section's short list."""
    return {"title": title, "url": url, "meta": meta, "overdue": overdue}


def register_work_section(key: str, fn, order: int = 100) -> None:
    _WORK_SECTIONS[key] = (order, fn)


def work_sections_for(user) -> list[dict]:
    out = []
    for key, (_order, fn) in sorted(_WORK_SECTIONS.items(), key=lambda kv: (kv[1][0], kv[0])):
        section = fn(user)
        if section is not None:
            out.append({"key": key, **section})
    return out
