"""The session cookie of the pages: its name, and the tag a page is rendered with.

The cookie is ``HttpOnly``: the pages' scripts cannot read it. A page rendered for a
session carries its **session tag** instead (``<body data-session>``), a one-way digest of
the token that names the session without being able to open it (only the token does; the
database keeps another digest, ``api.sessions``). The browser binds the key it keeps
unlocked to this tag (api/static/trackrecord.js, docs/onboarding.md §6): when the tab's
session changes or ends, the tag changes or goes, and the unlocked key is forgotten.
"""

from __future__ import annotations

import hashlib

__all__ = ["COOKIE_NAME", "session_tag"]

COOKIE_NAME = "trackrecord_session"


def session_tag(token: str) -> str:
    """The tag of the session of ``token``: hex SHA-256 of a domain-separated prefix and the
    token, first 32 digits; trackrecord.js sessionTag computes the same from the login's token."""
    digest = hashlib.sha256(b"trackrecord:session-tag:v1\0" + token.encode("utf-8"))
    return digest.hexdigest()[:32]
