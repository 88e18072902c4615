"""Who the command line names in the audit trail: the role it acts as and the login name, as the GUI does."""

from __future__ import annotations

import getpass


def cli_actor(role: str, name: str | None = None) -> str:
    """'operator:rita' for `role` operator run by login rita (or `name` when given)."""
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no login name (a container without a passwd entry)
            name = "unknown"
    return f"{role}:{name}"
