"""Masking of complainants' personal data for users without the permission to see it (pure)."""


def mask_phone(phone: str) -> str:
    """13812345678 → 138****5678; short numbers keep only their last two digits."""
    p = (phone or "").strip()
    if len(p) >= 8:
        return p[:3] + "*" * (len(p) - 7) + p[-4:]
    return "*" * max(0, len(p) - 2) + p[-2:]


def mask_name(name: str) -> str:
    """张三 → 张*; 欧阳娜娜 → 欧***; one character stays as it is."""
    n = (name or "").strip()
    return n[:1] + "*" * (len(n) - 1) if len(n) > 1 else n


def mask_id_number(id_number: str) -> str:
    """440301199001011234 → 4403**********1234."""
    s = (id_number or "").strip()
    if len(s) <= 8:
        return "*" * len(s)
    return s[:4] + "*" * (len(s) - 8) + s[-4:]


def complainant(detail, unmasked: bool) -> dict:
    data = {"name": detail.complainant_name, "phone": detail.complainant_phone,
            "id_number": detail.complainant_id_number}
    if unmasked:
        return data | {"masked": False}
    return {"name": mask_name(data["name"]), "phone": mask_phone(data["phone"]),
            "id_number": mask_id_number(data["id_number"]), "masked": True}
