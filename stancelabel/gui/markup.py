"""Text into Qt's rich text: escaped for element content (quotes stay readable)."""

from __future__ import annotations

import html


def escape(text: str) -> str:
    """``<``, ``>`` and ``&`` escaped; quotes and apostrophes left as they are (not attribute values)."""
    return html.escape(text, quote=False)
