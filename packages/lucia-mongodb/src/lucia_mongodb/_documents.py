"""Rows to documents and back, and which session documents are visible (no I/O here).

A session document is ``{_id: session id, user_id, active_expires, idle_expires,
created_at, persistent, <periods>, previous_id, previous_expires, <attributes>}``;
fields that are ``None`` are left out, so a Lucia-JS 1.x document (the first four
fields) reads as a session with the default policy. Two internal fields carry the
renewal protocol (see :class:`lucia_mongodb.MongoDBAdapter`):

* ``_renewal_of``: on a renewal that is not confirmed yet, the id it renews;
* ``_replaced_by``: on a renewed session, the id of its renewal.

A *pending* renewal (``_renewal_of`` set) is part of the store only once its old
document points at it (``_replaced_by``): the conditional update of the old document
is the renewal's commit point. A *replaced* document is never a session by itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, Final

from lucia import InvalidInputError
from lucia.adapters import SESSION_POLICY_COLUMNS, ChallengeRow, KeyRow, PasskeyCredentialRow, SessionRow, UserRow

__all__ = [
    "RENEWAL_OF",
    "REPLACED_BY",
    "UNSURE",
    "Unsure",
    "challenge_document",
    "challenge_row",
    "check_session_attributes",
    "choose_session",
    "is_live",
    "key_document",
    "key_row",
    "live_sessions",
    "passkey_document",
    "passkey_row",
    "session_document",
    "session_row",
    "user_row",
]

RENEWAL_OF: Final = "_renewal_of"
REPLACED_BY: Final = "_replaced_by"
#: The ``$lookup`` output field of the joined read (never stored).
JOINED_USER: Final = "_user"
#: The stored session fields that are not application attributes.
_SESSION_FIELDS: Final = frozenset({"_id", "user_id", "active_expires", "idle_expires", *SESSION_POLICY_COLUMNS})
_RESERVED_ATTRIBUTES: Final = frozenset(name.lower() for name in (*_SESSION_FIELDS, "id"))


class Unsure:
    """A read that raced a renewal: resolve it with single-document reads."""

    def __repr__(self) -> str:
        return "UNSURE"


#: What :func:`choose_session` returns when one snapshot-free read cannot decide.
UNSURE: Final = Unsure()


def check_session_attributes(attributes: Mapping[str, Any]) -> None:
    """Refuse attribute names that would overwrite a stored field (``_id``, internals, policy fields)."""
    for name in attributes:
        if name.startswith("_") or name.lower() in _RESERVED_ATTRIBUTES:
            raise InvalidInputError(None, f"{name!r} is reserved in session documents"[:120])


def user_row(doc: Mapping[str, Any]) -> UserRow:
    """The row of a user document (every field but ``_id`` is an attribute)."""
    attributes = dict(doc)
    return UserRow(id=attributes.pop("_id"), attributes=attributes)


def _document(row: KeyRow | PasskeyCredentialRow | ChallengeRow) -> dict[str, Any]:
    """Every field of a row, in the row's order, its ``id`` stored as ``_id``."""
    return {"_id" if field.name == "id" else field.name: getattr(row, field.name) for field in dataclasses.fields(row)}


def key_document(key: KeyRow) -> dict[str, Any]:
    """The document of a key."""
    return _document(key)


def key_row(doc: Mapping[str, Any]) -> KeyRow:
    """The row of a key document."""
    expires = doc.get("expires")
    return KeyRow(
        id=doc["_id"],
        user_id=doc["user_id"],
        primary_key=bool(doc["primary_key"]),
        hashed_password=doc.get("hashed_password"),
        expires=None if expires is None else int(expires),
    )


def session_document(row: SessionRow, **internal: str) -> dict[str, Any]:
    """The document of a session row (``None`` fields left out), plus protocol fields."""
    check_session_attributes(row.attributes)
    doc: dict[str, Any] = {
        **row.attributes,
        "_id": row.id,
        "user_id": row.user_id,
        "active_expires": row.active_expires,
        "idle_expires": row.idle_expires,
        "persistent": row.persistent,
    }
    for name in ("created_at", "active_period", "idle_period", "absolute_period", "previous_id", "previous_expires"):
        value = getattr(row, name)
        if value is not None:
            doc[name] = value
    doc.update(internal)
    return doc


def _int(doc: Mapping[str, Any], name: str) -> int | None:
    value = doc.get(name)
    return None if value is None else int(value)


def session_row(doc: Mapping[str, Any]) -> SessionRow:
    """The row of a session document (internal fields dropped)."""
    return SessionRow(
        id=doc["_id"],
        user_id=doc["user_id"],
        active_expires=int(doc["active_expires"]),
        idle_expires=int(doc["idle_expires"]),
        created_at=_int(doc, "created_at"),
        persistent=bool(doc.get("persistent", True)),
        active_period=_int(doc, "active_period"),
        idle_period=_int(doc, "idle_period"),
        absolute_period=_int(doc, "absolute_period"),
        previous_id=doc.get("previous_id"),
        previous_expires=_int(doc, "previous_expires"),
        attributes={k: v for k, v in doc.items() if k not in _SESSION_FIELDS and not k.startswith("_")},
    )


def is_live(doc: Mapping[str, Any]) -> bool:
    """Neither a pending renewal nor a replaced session."""
    return doc.get(RENEWAL_OF) is None and doc.get(REPLACED_BY) is None


def choose_session(session_id: str, docs: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | Unsure | None:
    """The session that ``session_id`` names, from the documents whose ``_id`` or ``previous_id`` it is.

    One ``find`` with ``$or`` is not a snapshot: it may see a renewal's documents at
    different moments. When what it saw cannot have been the state at one instant
    (a pending renewal whose old document is missing, a replaced document whose
    renewal is missing, a lookup of a pending document by its own id), the answer is
    :data:`UNSURE` and the caller re-reads document by document in commit order.
    """
    own: Mapping[str, Any] | None = None
    renewals: list[Mapping[str, Any]] = []
    for doc in docs:
        if doc["_id"] == session_id:
            own = doc
        elif doc.get("previous_id") == session_id:
            renewals.append(doc)
    if own is not None:
        if is_live(own):
            return own
        if own.get(RENEWAL_OF) is not None:
            return UNSURE
    replaced_by = None if own is None else own.get(REPLACED_BY)
    for renewal in renewals:
        if renewal.get(RENEWAL_OF) is None or renewal["_id"] == replaced_by:
            return renewal
    if replaced_by is not None or renewals:
        return UNSURE
    return None


def live_sessions(docs: Iterable[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], list[str], list[str]]:
    """The sessions among a user's documents, one per sign-in, and the ids to re-read.

    Returns the visible documents, the ids of pending documents whose old document was
    not seen (a race with the end of a renewal: re-read them), and the renewal ids of
    replaced documents whose renewal was not seen (re-read those too).
    """
    docs = list(docs)
    by_id = {doc["_id"]: doc for doc in docs}
    visible: list[Mapping[str, Any]] = []
    pending_unsure: list[str] = []
    renewals_unseen: list[str] = []
    for doc in docs:
        replaced_by = doc.get(REPLACED_BY)
        renewal_of = doc.get(RENEWAL_OF)
        if replaced_by is not None:
            if replaced_by not in by_id:
                renewals_unseen.append(replaced_by)
        elif renewal_of is None:
            visible.append(doc)
        else:
            old = by_id.get(renewal_of)
            if old is None:
                pending_unsure.append(doc["_id"])
            elif old.get(REPLACED_BY) == doc["_id"]:
                visible.append(doc)
    return visible, pending_unsure, renewals_unseen


def passkey_document(credential: PasskeyCredentialRow) -> dict[str, Any]:
    """The document of a passkey credential (its transports an array)."""
    doc = _document(credential)
    doc["transports"] = list(credential.transports)
    return doc


def passkey_row(doc: Mapping[str, Any]) -> PasskeyCredentialRow:
    """The row of a passkey document."""
    return PasskeyCredentialRow(
        id=doc["_id"],
        user_id=doc["user_id"],
        user_handle=doc["user_handle"],
        public_key=bytes(doc["public_key"]),
        sign_count=int(doc["sign_count"]),
        transports=tuple(doc.get("transports") or ()),
        aaguid=doc.get("aaguid") or "",
        backup_eligible=bool(doc.get("backup_eligible")),
        backed_up=bool(doc.get("backed_up")),
        name=doc.get("name"),
        created_at=int(doc.get("created_at") or 0),
        last_used_at=_int(doc, "last_used_at"),
    )


def challenge_document(challenge: ChallengeRow) -> dict[str, Any]:
    """The document of a ceremony challenge."""
    return _document(challenge)


def challenge_row(doc: Mapping[str, Any]) -> ChallengeRow:
    """The row of a challenge document."""
    expires = int(doc["expires"])
    return ChallengeRow(doc["_id"], doc["kind"], doc.get("user_id"), doc["challenge"], expires, doc.get("user_handle"))
