"""Spreadsheet cell safety shared by the plan and subscriber imports and exports."""

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value) -> str:
    """A spreadsheet runs text that starts with =, +, -, @ as a formula: make it plain text."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def unescape_cell(value) -> str:
    """Undo `neutralize` (`'=...` -> `=...`) so an exported file imports back unchanged."""
    text = "" if value is None else str(value).strip()
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_START:
        return text[1:]
    return text
