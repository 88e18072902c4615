"""Who may do what on the station's OPC UA server: anyone reads, only an engineer writes.

asyncua asks the user manager who a session is (from the user name and password it sent) and
the ruleset whether that user may make a request. Engineers from the users file become asyncua
"User" sessions; everybody else (anonymous, operators) is "Anonymous", which here may read,
browse and subscribe but never write.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from asyncua import ua
from asyncua.crypto.permission_rules import USER_TYPES, PermissionRuleset, User, UserRole

from resad_station.outputs.credentials import UserEntry

log = logging.getLogger(__name__)

WRITE = ua.NodeId(ua.ObjectIds.WriteRequest_Encoding_DefaultBinary)
_EVERYONE = frozenset(ua.NodeId(t) for t in USER_TYPES) - {WRITE}  # sessions, reads, browse, subscriptions


class EngineerWrites(PermissionRuleset):
    """`on_refused(user name, body)` hears of every write refused (to audit it)."""

    def __init__(self, on_refused: Callable[[str, Any], None] = lambda user, body: None) -> None:
        self.on_refused = on_refused

    def check_validity(self, user: Any, action_type_id: Any, body: Any) -> bool:
        if action_type_id == WRITE:
            allowed = user is not None and user.role is UserRole.User
            if not allowed:
                self.on_refused(getattr(user, "name", None) or "anonymous", body)
            return allowed
        return action_type_id in _EVERYONE


class FileUsers:
    """asyncua user manager over the users file; a wrong password is refused outright."""

    def __init__(self, users: dict[str, UserEntry]) -> None:
        self.users = users

    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> User | None:
        if username is None:
            return User(role=UserRole.Anonymous)
        entry = self.users.get(username)
        if entry is None or password is None or not entry.verify(password):
            log.warning("OPC UA: login refused for user %r", username)
            return None
        return User(role=UserRole.User if entry.role == "engineer" else UserRole.Anonymous, name=username)
