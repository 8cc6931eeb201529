"""The MongoDB adapter: documents keyed by ``_id``, thin driver calls, no policy.

Documents (collection names configurable)::

    auth_user     {_id: user id, <attribute>: <value>, ...}
    auth_session  {_id: session id, user_id, active_expires: int64 ms, idle_expires: int64 ms}
    auth_key      {_id: key id, user_id, primary_key: bool, hashed_password: str | null, expires: int64 ms | null}

Uniqueness comes from the unique ``_id`` index of each collection. PyMongo's native
async client (``pymongo.AsyncMongoClient``) and Motor (``AsyncIOMotorClient``) differ in
a few call shapes (``aggregate`` is a coroutine in one and returns a cursor in the
other, ``start_session`` likewise); :func:`_resolve` absorbs that, so the adapter takes
a database object of either.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pymongo.errors import DuplicateKeyError

from lucia import LuciaError
from lucia.adapters import KeyRow, SessionRow, UserRow
from lucia.adapters.sql import TableNames, Violation, constraint_error

if TYPE_CHECKING:
    from pymongo.asynchronous.database import AsyncDatabase

__all__ = ["MongoDBAdapter"]

_Collection = Literal["user", "session", "key"]
_SESSION_FIELDS = {"_id": 1, "user_id": 1, "active_expires": 1, "idle_expires": 1}
_KEY_FIELDS = {"_id": 1, "user_id": 1, "primary_key": 1, "hashed_password": 1, "expires": 1}


async def _resolve(value: Any) -> Any:
    """Await ``value`` if the driver returned an awaitable (Motor and PyMongo differ here)."""
    return await value if inspect.isawaitable(value) else value


def _is_duplicate_id(exc: DuplicateKeyError) -> bool:
    """Whether a duplicate-key error is about ``_id`` (not a unique index of the application's)."""
    details = exc.details or {}
    pattern = details.get("keyPattern")
    if isinstance(pattern, Mapping):
        return list(pattern) == ["_id"]
    return "index: _id_ " in str(details.get("errmsg", exc))


def _translate(exc: DuplicateKeyError, collection: _Collection) -> Exception:
    error = constraint_error(collection, Violation.PRIMARY_KEY if _is_duplicate_id(exc) else Violation.OTHER)
    return exc if error is None else error


def _key_document(key: KeyRow) -> dict[str, Any]:
    return {
        "_id": key.id,
        "user_id": key.user_id,
        "primary_key": key.primary_key,
        "hashed_password": key.hashed_password,
        "expires": key.expires,
    }


def _key_row(doc: Mapping[str, Any]) -> KeyRow:
    expires = doc.get("expires")
    return KeyRow(
        id=doc["_id"],
        user_id=doc["user_id"],
        primary_key=bool(doc["primary_key"]),
        hashed_password=doc.get("hashed_password"),
        expires=None if expires is None else int(expires),
    )


def _session_row(doc: Mapping[str, Any]) -> SessionRow:
    return SessionRow(
        id=doc["_id"],
        user_id=doc["user_id"],
        active_expires=int(doc["active_expires"]),
        idle_expires=int(doc["idle_expires"]),
    )


def _user_row(doc: Mapping[str, Any]) -> UserRow:
    attributes = dict(doc)
    return UserRow(id=attributes.pop("_id"), attributes=attributes)


def _check_attribute_names(attributes: Mapping[str, Any]) -> None:
    if "_id" in attributes:
        raise LuciaError("AUTH_INVALID_INPUT", "'_id' is the user id, not an attribute")


class MongoDBAdapter:
    """Users, keys and sessions in MongoDB.

    ``set_user`` stores a user and its primary key atomically:

    * in a multi-document transaction where the deployment has them (a replica set or a
      sharded cluster; detected once with ``hello``, or forced with ``transactions=``);
    * on a standalone server, by inserting the key first (its unique ``_id`` decides who
      owns it) and the user second, deleting the key again if the user insert fails. No
      user ever exists without its primary key; if the process dies between the two
      inserts, a key without a user remains, and that sign-up id stays taken until the
      key is deleted.

    MongoDB has no foreign keys, so ``set_key`` and ``set_session`` check that the user
    exists before inserting and again after, removing their own document if the user
    disappeared meanwhile; together with :meth:`delete_user` (which deletes the user
    first, then its keys and sessions) no key or session outlives its user.

    Args:
        database: A database of ``pymongo.AsyncMongoClient`` (``client["app"]``) or of
            Motor's ``AsyncIOMotorClient``. You keep ownership of the client.
        collections: Collection names (default ``auth_user``, ``auth_session``, ``auth_key``).
        transactions: Use transactions for ``set_user``; ``None`` (default) decides from
            the server's ``hello`` reply on first use.
    """

    def __init__(
        self,
        database: AsyncDatabase[Any] | Any,
        *,
        collections: TableNames | None = None,
        transactions: bool | None = None,
    ) -> None:
        names = collections or TableNames()
        self._db = database
        self._users = database[names.user]
        self._sessions = database[names.session]
        self._keys = database[names.key]
        self._user_collection = names.user
        self._transactions = transactions

    def __repr__(self) -> str:
        return f"MongoDBAdapter(database={self._db.name!r})"

    async def create_indexes(self) -> None:
        """Create the ``user_id`` indexes of the session and key collections (idempotent)."""
        await self._sessions.create_index("user_id")
        await self._keys.create_index("user_id")

    async def uses_transactions(self) -> bool:
        """Whether ``set_user`` runs in a transaction (asks the server once, unless configured)."""
        if self._transactions is None:
            hello = await self._db.command("hello")
            self._transactions = "setName" in hello or hello.get("msg") == "isdbgrid"
        return self._transactions

    # -- users -----------------------------------------------------------------------

    async def get_user(self, user_id: str) -> UserRow | None:
        """Return the user document, or ``None``."""
        doc = await self._users.find_one({"_id": user_id})
        return None if doc is None else _user_row(doc)

    async def set_user(self, user: UserRow, key: KeyRow | None) -> None:
        """Insert a user and its primary key, both or neither.

        Raises:
            LuciaError: ``AUTH_DUPLICATE_KEY_ID`` (key id taken) or ``AUTH_INVALID_USER_ID``
                (user id taken); nothing is left behind.
        """
        _check_attribute_names(user.attributes)
        user_doc = {**user.attributes, "_id": user.id}
        if key is None:
            await self._insert(self._users, user_doc, "user")
        elif await self.uses_transactions():
            await self._set_user_in_transaction(user_doc, _key_document(key))
        else:
            await self._set_user_with_compensation(user_doc, _key_document(key))

    async def _set_user_in_transaction(self, user_doc: dict[str, Any], key_doc: dict[str, Any]) -> None:
        async def insert_both(session: Any) -> None:
            # The key first, as on a standalone server: of concurrent sign-ups with one
            # key, the losers fail on the key and never write a user.
            await self._insert(self._keys, key_doc, "key", session=session)
            await self._insert(self._users, user_doc, "user", session=session)

        session = await _resolve(self._db.client.start_session())
        try:
            # with_transaction retries transient conflicts (concurrent inserts of one _id)
            # until one transaction commits and the others see the duplicate key.
            await session.with_transaction(insert_both)
        finally:
            await _resolve(session.end_session())

    async def _set_user_with_compensation(self, user_doc: dict[str, Any], key_doc: dict[str, Any]) -> None:
        await self._insert(self._keys, key_doc, "key")
        try:
            await self._insert(self._users, user_doc, "user")
        except BaseException:
            await self._keys.delete_one({"_id": key_doc["_id"], "user_id": key_doc["user_id"]})
            raise

    async def update_user(self, user_id: str, attributes: Mapping[str, Any]) -> None:
        """Set some attribute fields of a user."""
        _check_attribute_names(attributes)
        if attributes:
            await self._users.update_one({"_id": user_id}, {"$set": dict(attributes)})

    async def delete_user(self, user_id: str) -> None:
        """Delete a user, then any key or session of it that a concurrent insert slipped in."""
        await self._users.delete_one({"_id": user_id})
        await self._keys.delete_many({"user_id": user_id})
        await self._sessions.delete_many({"user_id": user_id})

    # -- keys ------------------------------------------------------------------------

    async def get_key(self, key_id: str) -> KeyRow | None:
        """Return the key, or ``None``."""
        doc = await self._keys.find_one({"_id": key_id}, _KEY_FIELDS)
        return None if doc is None else _key_row(doc)

    async def get_keys_by_user_id(self, user_id: str) -> list[KeyRow]:
        """Every key of a user."""
        return [_key_row(doc) async for doc in self._keys.find({"user_id": user_id}, _KEY_FIELDS)]

    async def set_key(self, key: KeyRow) -> None:
        """Insert a key for an existing user.

        Raises:
            LuciaError: ``AUTH_DUPLICATE_KEY_ID``, or ``AUTH_INVALID_USER_ID`` for an unknown user.
        """
        await self._insert_for_user(self._keys, _key_document(key), "key")

    async def update_key(self, key_id: str, *, hashed_password: str | None) -> None:
        """Replace the password hash of a key."""
        await self._keys.update_one({"_id": key_id}, {"$set": {"hashed_password": hashed_password}})

    async def delete_key(self, key_id: str) -> None:
        """Delete a non-primary key."""
        await self._keys.delete_one({"_id": key_id, "primary_key": False})

    async def delete_keys_by_user_id(self, user_id: str) -> None:
        """Delete every key of a user."""
        await self._keys.delete_many({"user_id": user_id})

    async def use_single_use_key(self, key_id: str) -> KeyRow | None:
        """Delete and return a single-use key in one ``findAndModify`` (SECURITY T1)."""
        doc = await self._keys.find_one_and_delete({"_id": key_id, "expires": {"$ne": None}}, projection=_KEY_FIELDS)
        return None if doc is None else _key_row(doc)

    # -- sessions --------------------------------------------------------------------

    async def get_session(self, session_id: str) -> SessionRow | None:
        """Return the session, or ``None``."""
        doc = await self._sessions.find_one({"_id": session_id}, _SESSION_FIELDS)
        return None if doc is None else _session_row(doc)

    async def get_sessions_by_user_id(self, user_id: str) -> list[SessionRow]:
        """Every session of a user."""
        return [_session_row(doc) async for doc in self._sessions.find({"user_id": user_id}, _SESSION_FIELDS)]

    async def set_session(self, session: SessionRow) -> None:
        """Insert a session for an existing user.

        Raises:
            LuciaError: ``AUTH_DUPLICATE_SESSION_ID``, or ``AUTH_INVALID_USER_ID`` for an unknown user.
        """
        doc = {
            "_id": session.id,
            "user_id": session.user_id,
            "active_expires": session.active_expires,
            "idle_expires": session.idle_expires,
        }
        await self._insert_for_user(self._sessions, doc, "session")

    async def update_session(self, session_id: str, *, active_expires: int, idle_expires: int) -> None:
        """Move a session's expiry."""
        update = {"$set": {"active_expires": active_expires, "idle_expires": idle_expires}}
        await self._sessions.update_one({"_id": session_id}, update)

    async def delete_session(self, session_id: str) -> None:
        """Delete one session."""
        await self._sessions.delete_one({"_id": session_id})

    async def delete_sessions_by_user_id(self, user_id: str) -> None:
        """Delete every session of a user."""
        await self._sessions.delete_many({"user_id": user_id})

    async def get_session_and_user(self, session_id: str) -> tuple[SessionRow, UserRow] | None:
        """The session and its user in one round trip (an aggregation with ``$lookup``)."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"_id": session_id}},
            {"$limit": 1},
            {
                "$lookup": {
                    "from": self._user_collection,
                    "localField": "user_id",
                    "foreignField": "_id",
                    "as": "user",
                }
            },
        ]
        cursor = await _resolve(self._sessions.aggregate(pipeline))
        docs = await cursor.to_list(length=None)
        if not docs or not docs[0]["user"]:
            return None
        return _session_row(docs[0]), _user_row(docs[0]["user"][0])

    # -- helpers ---------------------------------------------------------------------

    @staticmethod
    async def _insert(collection: Any, doc: Mapping[str, Any], kind: _Collection, *, session: Any = None) -> None:
        try:
            await collection.insert_one(doc, session=session)
        except DuplicateKeyError as exc:
            raise _translate(exc, kind) from exc

    async def _insert_for_user(self, collection: Any, doc: Mapping[str, Any], kind: _Collection) -> None:
        # No foreign keys in MongoDB: check, insert, check again. The second check catches
        # a delete_user that ran between the first check and the insert.
        if await self._users.find_one({"_id": doc["user_id"]}, {"_id": 1}) is None:
            raise constraint_error(kind, Violation.FOREIGN_KEY) or LuciaError("AUTH_INVALID_USER_ID")
        await self._insert(collection, doc, kind)
        if await self._users.find_one({"_id": doc["user_id"]}, {"_id": 1}) is None:
            await collection.delete_one({"_id": doc["_id"], "user_id": doc["user_id"]})
            raise constraint_error(kind, Violation.FOREIGN_KEY) or LuciaError("AUTH_INVALID_USER_ID")
