"""Label values for metrics and alerts: bounded text, and the label set that takes the overflow.

Both ``MetricsSink`` and ``AlertSink`` keep at most ``max_label_sets`` label sets per metric or rule;
further label values are folded into the set whose values are all ``OVERFLOW``.
"""

from __future__ import annotations

__all__ = ["MAX_LABEL_CHARS", "OVERFLOW", "label_value"]

#: The label value of the overflow label set.
OVERFLOW = "other"
#: A label value is cut to this many characters.
MAX_LABEL_CHARS = 128


def label_value(value: object) -> str:
    """A field value as a label value: text of at most ``MAX_LABEL_CHARS`` characters (``""`` for None)."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, BaseException):
        return type(value).__name__  # the type: a message is unbounded and makes a new series each time
    try:
        text = value if isinstance(value, str) else str(value)
    except Exception:
        text = f"<unprintable {type(value).__qualname__}>"
    return str.__str__(text)[:MAX_LABEL_CHARS]
