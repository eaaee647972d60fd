"""Where the service is reached from outside: its public URL, on which credentials' status
lists are served (docs/credentials.md §5).

A module of its own, without the credentials' cryptography, so that the command-line tool's
settings read it without loading the credentials package.
"""

from __future__ import annotations

import urllib.parse

__all__ = ["DEFAULT_PUBLIC_URL", "checked_public_url"]

#: where a service is reached when no public URL is configured: ``trackrecord serve``'s
#: default address, right for the demo on one machine and for nothing else
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


def checked_public_url(url: str) -> str:
    """``url`` without a final ``/`` if it is an absolute ``http(s)`` URL with a host and no
    user, query or fragment (what status list URLs are built on); raise ValueError else."""
    parts = urllib.parse.urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.query
        or parts.fragment
    ):
        raise ValueError(
            f"{url!r} is not a public URL: give http(s)://HOST[:PORT][/PATH], "
            "without user, query or fragment"
        )
    return url.rstrip("/")
