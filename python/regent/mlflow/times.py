"""MLflow's times (milliseconds since 1970) and regent's (RFC 3339 text)."""

from datetime import datetime, timezone


def ms_to_rfc3339(ms):
    moment = datetime.fromtimestamp(int(ms) / 1000.0, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def rfc3339_to_ms(text):
    """Milliseconds, or None for no time. Accepts `Z` and offsets, and the
    `2026-11-26 18:28:22+00:00` spelling regent also reads."""
    if not text:
        return None
    value = str(text).strip().replace("Z", "+00:00").replace("z", "+00:00")
    moment = datetime.fromisoformat(value.replace(" ", "T", 1))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(round(moment.timestamp() * 1000))
