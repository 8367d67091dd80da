"""Chinese phone-number formats, pure (no Django): what a published number may look like, and the one
way it is written in the directory so the same number is never stored twice under two spellings.

- mobile: 11 digits from 13–19 (13812345678);
- landline: area code 0 + 2–3 digits, then 7–8 digits, optionally an extension (0755-82345678-123);
  Beijing, Shanghai, Tianjin, Chongqing and the other 0 + 2 digit codes take 8 digits;
- service numbers: 95xxx (95588), 400/800 numbers (400-123-4567), 12xxx public lines (12363).
A leading +86 / 86 / 0086 is dropped; spaces, hyphens, dots and brackets are separators.
"""

import re

_SEPARATORS = re.compile(r"[\s\-\.()（）—－]+")
_EXTENSION = re.compile(r"(?:转|ext\.?|x|#)(\d{1,6})$", re.IGNORECASE)


def normalise(text: str) -> str | None:
    """The number as the directory writes it, or None when it is no Chinese phone number."""
    raw = (text or "").strip()
    if not raw or len(raw) > 40:
        return None
    extension = ""
    parts = re.split(r"\s*-\s*", raw)
    if len(parts) == 3 and all(p.isdigit() for p in parts) and parts[0].startswith("0") and len(parts[2]) <= 6:
        # a landline with its extension after a last hyphen: 0755-82345678-123
        extension, raw = parts[2], f"{parts[0]}-{parts[1]}"
    match = _EXTENSION.search(raw)
    if match:
        extension, raw = match.group(1), raw[:match.start()]
    digits = _SEPARATORS.sub("", raw)
    if digits.startswith("+"):
        digits = digits[1:]
        if not digits.startswith("86"):
            return None
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) in (10, 11, 12):
            digits = digits[len(prefix):]
            if not digits.startswith(("0", "1")):  # +86 755 82345678: the trunk 0 left out
                digits = "0" + digits
            break
    if not digits.isdigit() or (match and len(parts) == 3):
        return None
    if extension and not digits.startswith("0"):
        return None
    if re.fullmatch(r"1[3-9]\d{9}", digits):
        return digits
    if re.fullmatch(r"95\d{3}|12\d{3}", digits):
        return digits
    if re.fullmatch(r"(400|800)\d{7}", digits):
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    landline = _landline(digits)
    if landline:
        return f"{landline}-{extension}" if extension else landline
    return None


def _landline(digits: str) -> str | None:
    if not digits.startswith("0") or digits.startswith("00"):
        return None
    # 0 + 2-digit area codes (010, 020–029) take 8 digits; the others 0 + 3 digits and 7–8 digits.
    if digits[1] in "12" and len(digits) == 11:
        return f"{digits[:3]}-{digits[3:]}"
    if digits[1] in "3456789" and len(digits) in (11, 12):
        return f"{digits[:4]}-{digits[4:]}"
    return None
