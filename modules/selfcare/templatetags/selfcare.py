from django import template

register = template.Library()


@register.filter
def octets(value) -> str:
    """Bytes as a short figure a subscriber reads: 1.5 GB, 320 MB."""
    value = float(value or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit in ("B", "KB") else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.2f} TB"


@register.filter
def speed(kbps) -> str:
    kbps = int(kbps or 0)
    return f"{kbps / 1000:g} Mbps" if kbps >= 1000 else f"{kbps} kbps"
