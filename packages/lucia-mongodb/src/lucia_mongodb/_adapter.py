"""The MongoDB adapter: documents keyed by ``_id``, thin driver calls, no policy.

Collections (names configurable with :class:`lucia.adapters.sql.TableNames`)::

    auth_user               {_id: user id, <attribute>: <value>, ...}
    auth_session            {_id: session id, user_id, active_expires, idle_expires, created_at, persistent,
                             previous_id, previous_expires, ..., <session attribute>: <value>, ...}
    auth_key                {_id: key id, user_id, primary_key, hashed_password, expires}
    auth_passkey            {_id: credential id, user_id, user_handle, public_key, sign_count, ...}
    auth_passkey_challenge  {_id: challenge id, kind, user_id, challenge, expires, user_handle}
    auth_throttle           {_id: throttle key, failures, last_failure, expires, wait}
    auth_throttle_event     {_id: {key, event}, key, at, expires}

PyMongo's native async client (``pymongo.AsyncMongoClient``) and Motor
(``AsyncIOMotorClient``) differ in a few call shapes (``aggregate`` is a coroutine in one
and returns a cursor in the other, ``start_session`` likewise); ``_guard.resolve``
absorbs that, so the adapter takes a database object of either.

Renewal without moving ``_id`` (``_id`` is immutable, and Lucia-JS 1.x documents use the
session id as ``_id``): see :class:`MongoDBAdapter`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote

from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from lucia import InvalidInputError, LuciaError
from lucia.adapters import (
    ChallengeRow,
    KeyRow,
    PasskeyCredentialRow,
    SessionRow,
    TableRole,
    UserRow,
    Violation,
    constraint_error,
)
from lucia.adapters._lifecycle import RecordSessions, guarded
from lucia.adapters.sql import TableNames
from lucia_mongodb._blocking import BlockingClient, BlockingDatabase
from lucia_mongodb._documents import (
    JOINED_USER,
    RENEWAL_OF,
    REPLACED_BY,
    Unsure,
    challenge_document,
    challenge_row,
    choose_session,
    is_live,
    key_document,
    key_row,
    live_sessions,
    passkey_document,
    passkey_row,
    session_document,
    session_row,
    user_row,
)
from lucia_mongodb._guard import DEFAULT_TIMEOUT_MS, Guard, resolve
from lucia_mongodb._throttle import MongoDBThrottleStore

if TYPE_CHECKING:
    from pymongo.asynchronous.database import AsyncDatabase

__all__ = ["MongoDBAdapter"]

_KEY_FIELDS: Final = {"_id": 1, "user_id": 1, "primary_key": 1, "hashed_password": 1, "expires": 1}
#: "Delete every session of a user" repeats while a pass still finds something (see the class notes).
_MAX_DELETE_PASSES: Final = 6
#: The client options :meth:`MongoDBAdapter.from_url` sets unless given: fail fast, never hang.
CLIENT_DEFAULTS: Final[Mapping[str, Any]] = {"serverSelectionTimeoutMS": 5_000, "connectTimeoutMS": 5_000}


def _is_duplicate_id(exc: DuplicateKeyError) -> bool:
    """Whether a duplicate-key error is about ``_id`` (not a unique index of the application's)."""
    details = exc.details or {}
    pattern = details.get("keyPattern")
    if isinstance(pattern, Mapping):
        return list(pattern) == ["_id"]
    return "index: _id_ " in str(details.get("errmsg", exc))


def _translate(exc: DuplicateKeyError, role: TableRole) -> Exception:
    error = constraint_error(role, Violation.PRIMARY_KEY if _is_duplicate_id(exc) else Violation.OTHER)
    return exc if error is None else error


def _check_user_attribute_names(attributes: Mapping[str, Any]) -> None:
    if "_id" in attributes:
        raise InvalidInputError(None, "'_id' is the user id, not an attribute")


class MongoDBAdapter(RecordSessions[Mapping[str, Any]]):
    """Users, keys, sessions, passkeys and throttle state in MongoDB.

    ::

        adapter = MongoDBAdapter.from_url("mongodb://127.0.0.1:27017/app")
        await adapter.create_indexes()
        auth = Lucia(adapter=adapter, throttle=Throttle(store=adapter.throttle_store()))

    **Sign-up** (``set_user``) is atomic: in a multi-document transaction where the
    deployment has them (a replica set or a sharded cluster; detected once with
    ``hello``, or forced with ``transactions=``); on a standalone server by inserting
    the key first (its unique ``_id`` decides who owns it) and the user second,
    deleting the key again if the user insert fails.

    **No foreign keys**: ``set_key``, ``set_session`` and ``set_passkey_credential``
    check that the user exists before inserting and again after, removing their own
    document if the user disappeared meanwhile. ``delete_user`` deletes the user, its
    keys, passkeys and sessions in one transaction where the deployment has them, then
    (on every deployment) sweeps keys, passkeys and sessions again, so nothing that a
    concurrent insert slipped in outlives the user. On a standalone server the user
    document goes first: a failure part-way leaves only documents of a deleted user,
    which authenticate nobody, and a retried ``delete_user`` removes them.

    **Renewal** cannot move a document to a new ``_id``, so it is a small protocol of
    single-document writes, linearizable with every revocation without transactions:

    1. insert the renewal as a *pending* document (``_renewal_of: old id``), invisible;
    2. commit: mark the old document ``_replaced_by: new id`` with one conditional
       update that matches only a live old document (not gone, not already replaced).
       If it matches nothing, delete the pending document and report ``False``: of
       concurrent renewals exactly one commits;
    3. confirm the renewal (unset ``_renewal_of``), and 4. delete the old document.

    A pending renewal is visible exactly when its old document points at it; a
    replaced document is never visible by itself, and through it (or through
    ``previous_id``) the old id finds the renewal during the grace window. Reads take
    one ``find`` with ``$or`` on ``_id`` and ``previous_id``; when that read raced a
    renewal's steps and cannot decide, it re-reads the documents one at a time in the
    order the renewal writes them. Revocations:

    * ``delete_session(id)`` deletes the document (``find_one_and_delete``), then the
      renewal it points at, then any document whose ``previous_id`` is ``id``: a renewal
      committed before the delete is caught by its pointer, one committing after it
      finds its old document gone and aborts.
    * ``delete_sessions_by_user_id`` runs ``delete_many`` on the user's documents, and
      again while the previous pass deleted anything: a renewal committed before the
      first pass deleted its old document inserted its own document before that, so
      the second pass sees it; one committing later finds its old document gone.

    A renewal interrupted between its steps (a crash, a timeout) leaves either an
    invisible pending document or a committed one that readers follow; both carry the
    renewal's idle expiry and :meth:`delete_expired` removes them in time.

    **Session caps** (``set_session(..., max_per_user=N)``): insert, list the user's
    sessions, revoke all but the N newest (by ``created_at``, then id). Whatever the
    interleaving, the last creator to list sees every surviving session and leaves at
    most N.

    **Timeouts**: every call runs under ``timeout_ms`` (PyMongo's client-side operation
    timeout, which also bounds server selection and sends ``maxTimeMS``, plus a client
    backstop). An unreachable server raises :class:`lucia.StorageUnavailableError`, a
    stalled one :class:`lucia.StorageTimeoutError`, each with PyMongo's error as
    ``__cause__``. Give the client you build ``serverSelectionTimeoutMS`` and
    ``connectTimeoutMS`` too (:meth:`from_url` sets 5 s each): PyMongo's own default
    waits 30 s for a server.

    **Sync applications**: :meth:`blocking_twin` is this adapter over PyMongo's
    synchronous ``MongoClient`` (same URL, options and ``timeout_ms``), which
    :class:`lucia.SyncLucia` drives in the calling thread.

    Args:
        database: A database of ``pymongo.AsyncMongoClient`` (``client["app"]``) or of
            Motor's ``AsyncIOMotorClient``. You keep ownership of the client.
        collections: Collection names (default ``auth_user``, ``auth_session``, ...).
        transactions: Use transactions for ``set_user`` and ``delete_user``; ``None``
            (default) decides from the server's ``hello`` reply on first use.
        timeout_ms: The deadline of each adapter call, all its round trips included
            (default 5000); ``None`` leaves timing to the client's own settings.

    Raises:
        ValueError: ``timeout_ms`` is not a positive integer or ``None``.
    """

    def __init__(
        self,
        database: AsyncDatabase[Any] | Any,
        *,
        collections: TableNames | None = None,
        transactions: bool | None = None,
        timeout_ms: int | None = DEFAULT_TIMEOUT_MS,
    ) -> None:
        names = collections or TableNames()
        #: A twin is this class over :class:`BlockingDatabase`: no asyncio backstop, PyMongo's deadline only.
        self._blocking = isinstance(database, BlockingDatabase)
        self._guard = Guard(timeout_ms, backstop=not self._blocking)
        self._timeout_ms = timeout_ms
        self._db = database
        self._names = names
        self._users = database[names.user]
        self._sessions = database[names.session]
        self._keys = database[names.key]
        self._passkeys = database[names.passkey]
        self._challenges = database[names.passkey_challenge]
        self._transactions = transactions
        self._owned_client: AsyncMongoClient[Any] | None = None
        #: The arguments of the client :meth:`from_url` built (the twin's client gets the same).
        self._client_settings: dict[str, Any] | None = None
        self._twin: MongoDBAdapter | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        database: str | None = None,
        collections: TableNames | None = None,
        transactions: bool | None = None,
        timeout_ms: int | None = DEFAULT_TIMEOUT_MS,
        **client_options: Any,
    ) -> MongoDBAdapter:
        """An adapter with its own ``AsyncMongoClient``, closed by :meth:`close`.

        The client gets ``serverSelectionTimeoutMS=5000``, ``connectTimeoutMS=5000`` and
        ``timeoutMS=timeout_ms`` unless ``client_options`` say otherwise.

        Args:
            url: A ``mongodb://`` or ``mongodb+srv://`` URL.
            database: The database name; by default the one in the URL's path.
            collections: As for the constructor.
            transactions: As for the constructor.
            timeout_ms: As for the constructor.
            client_options: More ``AsyncMongoClient`` options.

        Raises:
            ValueError: A URL of another scheme, or no database name.
        """
        if not isinstance(url, str) or not url.startswith(("mongodb://", "mongodb+srv://")):
            raise ValueError("MongoDBAdapter.from_url needs a mongodb:// or mongodb+srv:// URL")
        Guard(timeout_ms)  # refuse a bad timeout before a client exists
        options: dict[str, Any] = {**CLIENT_DEFAULTS, **client_options}
        if timeout_ms is not None:
            options.setdefault("timeoutMS", timeout_ms)
        name = database or unquote(url.split("://", 1)[1].partition("/")[2].partition("?")[0])
        if not name:
            raise ValueError("name the database in the mongodb:// URL's path or with database=")
        client: AsyncMongoClient[Any] = AsyncMongoClient(url, **options)
        adapter = cls(client[name], collections=collections, transactions=transactions, timeout_ms=timeout_ms)
        adapter._owned_client = client
        adapter._client_settings = {"host": url, **options}
        return adapter

    def __repr__(self) -> str:
        blocking = ", blocking" if self._blocking else ""
        return f"MongoDBAdapter(database={self._db.name!r}{blocking})"

    def blocking_twin(self) -> MongoDBAdapter | None:
        """This adapter over PyMongo's synchronous ``MongoClient``: the native path of :class:`lucia.SyncLucia`.

        The same adapter code (queries, renewal protocol, transactions, errors) on a
        facade whose calls never suspend. Its client is opened on first use with the
        settings of this adapter's client: the URL and options :meth:`from_url` was
        given, or those a given ``AsyncMongoClient`` or Motor client was built with
        (plus the database's codec options, read preference and concerns). It bounds
        each call by ``timeout_ms`` through PyMongo's own deadline, opens a client of
        its own in a forked worker, and is closed with this adapter. The same object
        each time; ``None`` (``SyncLucia`` then runs the async adapter on its loop
        thread) for a database whose client settings cannot be read.
        """
        if self._blocking:
            return self
        if self._twin is None:
            client = BlockingClient.mirroring(self._db, self._client_settings)
            if client is None:
                return None
            self._twin = MongoDBAdapter(
                BlockingDatabase(client),
                collections=self._names,
                transactions=self._transactions,
                timeout_ms=self._timeout_ms,
            )
        return self._twin

    async def close(self) -> None:
        """Close the client :meth:`from_url` created, and the blocking twin's; a client you passed in stays open."""
        if self._twin is not None:
            await self._twin.close()
        if isinstance(self._db, BlockingDatabase):
            await self._db.client.close()  # the twin's own client (opened again if the twin is used again)
            return
        client, self._owned_client = self._owned_client, None
        if client is not None:
            await client.close()

    async def create_indexes(self) -> None:
        """Create the indexes the adapter's queries use (idempotent; a deploy-time step, not bound by ``timeout_ms``).

        ``user_id`` on sessions, keys and passkeys; ``previous_id`` (sparse) and
        ``idle_expires`` on sessions; ``expires`` on challenges; and the throttle
        store's (:meth:`MongoDBThrottleStore.create_indexes`). Nothing relies on a TTL
        index: :meth:`delete_expired` and the throttle's own cleanup remove what expired.
        """
        with Guard(None)():  # building an index over a large collection takes its time
            await self._create_indexes()

    async def _create_indexes(self) -> None:
        await self._sessions.create_index("user_id")
        await self._sessions.create_index("previous_id", sparse=True)
        await self._sessions.create_index("idle_expires")
        await self._keys.create_index("user_id")
        await self._passkeys.create_index("user_id")
        await self._challenges.create_index("expires")
        await self.throttle_store()._create_indexes()

    async def uses_transactions(self) -> bool:
        """Whether ``set_user`` and ``delete_user`` run in a transaction (asks the server once, unless configured)."""
        if self._transactions is None:
            with self._guard():
                hello = await self._db.command("hello")
            self._transactions = "setName" in hello or hello.get("msg") == "isdbgrid"
        return self._transactions

    def throttle_store(self) -> MongoDBThrottleStore:
        """A :class:`lucia.throttle.ThrottleStore` in this database, shared by every process."""
        store = MongoDBThrottleStore(
            self._db[self._names.throttle], self._db[self._names.throttle_event], timeout_ms=self._timeout_ms
        )
        store._twin_of = self.blocking_twin
        return store

    @guarded
    async def delete_expired(self, now: int | None = None) -> None:
        """Delete dead sessions and expired passkey challenges (``now`` in epoch ms, default the clock).

        A renewal that was interrupted after its commit is confirmed first, so cleaning
        up its old document never loses it.
        """
        now = int(time.time() * 1000) if now is None else now
        expired = {"idle_expires": {"$lte": now}}
        async for old in self._sessions.find({**expired, REPLACED_BY: {"$ne": None}}, {REPLACED_BY: 1}):
            await self._sessions.update_one(
                {"_id": old[REPLACED_BY], RENEWAL_OF: old["_id"]}, {"$unset": {RENEWAL_OF: ""}}
            )
        await self._sessions.delete_many(expired)
        await self.delete_expired_challenges(now)

    # -- users -----------------------------------------------------------------------

    @guarded
    async def get_user(self, user_id: str) -> UserRow | None:
        """Return the user document, or ``None``."""
        doc = await self._users.find_one({"_id": user_id})
        return None if doc is None else user_row(doc)

    @guarded
    async def set_user(self, user: UserRow, key: KeyRow | None) -> None:
        """Insert a user and its primary key, both or neither.

        Raises:
            LuciaError: ``AUTH_DUPLICATE_KEY_ID`` (key id taken) or ``AUTH_INVALID_USER_ID``
                (user id taken); nothing is left behind.
        """
        _check_user_attribute_names(user.attributes)
        user_doc = {**user.attributes, "_id": user.id}
        if key is None:
            await self._insert(self._users, user_doc, "user")
        elif await self.uses_transactions():
            await self._set_user_in_transaction(user_doc, key_document(key))
        else:
            await self._set_user_with_compensation(user_doc, key_document(key))

    async def _in_transaction(self, body: Any) -> None:
        session = await resolve(self._db.client.start_session())
        try:
            # with_transaction retries transient conflicts (concurrent writes of one
            # document) until the transaction commits or fails for good.
            await session.with_transaction(body)
        finally:
            await resolve(session.end_session())

    async def _set_user_in_transaction(self, user_doc: dict[str, Any], key_doc: dict[str, Any]) -> None:
        async def insert_both(session: Any) -> None:
            # The key first, as on a standalone server: of concurrent sign-ups with one
            # key, the losers fail on the key and never write a user.
            await self._insert(self._keys, key_doc, "key", session=session)
            await self._insert(self._users, user_doc, "user", session=session)

        await self._in_transaction(insert_both)

    async def _set_user_with_compensation(self, user_doc: dict[str, Any], key_doc: dict[str, Any]) -> None:
        await self._insert(self._keys, key_doc, "key")
        try:
            await self._insert(self._users, user_doc, "user")
        except BaseException:
            await self._keys.delete_one({"_id": key_doc["_id"], "user_id": key_doc["user_id"]})
            raise

    @guarded
    async def update_user(self, user_id: str, attributes: Mapping[str, Any]) -> None:
        """Set some attribute fields of a user."""
        _check_user_attribute_names(attributes)
        if attributes:
            await self._users.update_one({"_id": user_id}, {"$set": dict(attributes)})

    @guarded
    async def delete_user(self, user_id: str) -> None:
        """Delete a user with its keys, passkeys and sessions (see the class notes)."""
        by_user = {"user_id": user_id}
        if await self.uses_transactions():

            async def delete_all(session: Any) -> None:
                await self._users.delete_one({"_id": user_id}, session=session)
                for collection in (self._keys, self._passkeys, self._sessions):
                    await collection.delete_many(by_user, session=session)

            await self._in_transaction(delete_all)
        else:
            await self._users.delete_one({"_id": user_id})
        # Keys, passkeys and sessions inserted concurrently (after the transaction's
        # snapshot, or before their own second user check) and renewals racing this call.
        await self._keys.delete_many(by_user)
        await self._passkeys.delete_many(by_user)
        await self._delete_sessions_where(by_user)

    # -- keys ------------------------------------------------------------------------

    @guarded
    async def get_key(self, key_id: str) -> KeyRow | None:
        """Return the key, or ``None``."""
        doc = await self._keys.find_one({"_id": key_id}, _KEY_FIELDS)
        return None if doc is None else key_row(doc)

    @guarded
    async def get_keys_by_user_id(self, user_id: str) -> list[KeyRow]:
        """Every key of a user."""
        return [key_row(doc) async for doc in self._keys.find({"user_id": user_id}, _KEY_FIELDS)]

    @guarded
    async def set_key(self, key: KeyRow) -> None:
        """Insert a key for an existing user.

        Raises:
            LuciaError: ``AUTH_DUPLICATE_KEY_ID``, or ``AUTH_INVALID_USER_ID`` for an unknown user.
        """
        await self._insert_for_user(self._keys, key_document(key), "key")

    @guarded
    async def update_key(self, key_id: str, *, hashed_password: str | None) -> None:
        """Replace the password hash of a key."""
        await self._keys.update_one({"_id": key_id}, {"$set": {"hashed_password": hashed_password}})

    @guarded
    async def delete_key(self, key_id: str) -> None:
        """Delete a non-primary key."""
        await self._keys.delete_one({"_id": key_id, "primary_key": False})

    @guarded
    async def delete_keys_by_user_id(self, user_id: str) -> None:
        """Delete every key of a user."""
        await self._keys.delete_many({"user_id": user_id})

    @guarded
    async def use_single_use_key(self, key_id: str) -> KeyRow | None:
        """Delete and return a single-use key in one ``findAndModify`` (SECURITY T1)."""
        doc = await self._keys.find_one_and_delete({"_id": key_id, "expires": {"$ne": None}}, projection=_KEY_FIELDS)
        return None if doc is None else key_row(doc)

    # -- sessions --------------------------------------------------------------------

    def _session_row(self, record: Mapping[str, Any]) -> SessionRow:
        return session_row(record)

    async def _visible_session(self, session_id: str) -> Mapping[str, Any] | None:
        return await self._find_session(session_id)

    async def _visible_user_sessions(self, user_id: str) -> list[Mapping[str, Any]]:
        return await self._user_session_documents(user_id)

    async def _insert_session(self, session: SessionRow) -> None:
        await self._insert_for_user(self._sessions, session_document(session), "session")

    async def _revoke_sessions(self, session_ids: Sequence[str]) -> None:
        for session_id in session_ids:
            await self._revoke(session_id)

    async def _find_session(self, session_id: str) -> Mapping[str, Any] | None:
        """The document ``session_id`` names now: itself, or its renewal (see the class notes)."""
        query = {"$or": [{"_id": session_id}, {"previous_id": session_id}]}
        chosen = choose_session(session_id, [doc async for doc in self._sessions.find(query)])
        return await self._find_session_in_order(session_id) if isinstance(chosen, Unsure) else chosen

    async def _find_session_in_order(self, session_id: str) -> Mapping[str, Any] | None:
        """Read the documents of a renewal one at a time, in the order the renewal writes them."""
        own: Mapping[str, Any] | None = await self._sessions.find_one({"_id": session_id})
        if own is None:
            # Renewal step 4 (delete the old document) follows step 3 (confirm): a
            # renewal read after its old document was seen gone is confirmed or abandoned.
            confirmed: Mapping[str, Any] | None = await self._sessions.find_one(
                {"previous_id": session_id, RENEWAL_OF: None}
            )
            return confirmed
        if is_live(own):
            return own
        renewal_of = own.get(RENEWAL_OF)
        if renewal_of is not None:  # a pending renewal, named by its own id
            old = await self._sessions.find_one({"_id": renewal_of}, {REPLACED_BY: 1})
            if old is not None and old.get(REPLACED_BY) == session_id:
                return own
            again: Mapping[str, Any] | None = await self._sessions.find_one({"_id": session_id})
            return again if again is not None and is_live(again) else None
        renewal: Mapping[str, Any] | None = await self._sessions.find_one({"_id": own[REPLACED_BY]})
        return renewal if renewal is not None and renewal.get("previous_id") == session_id else None

    async def _user_session_documents(self, user_id: str) -> list[Mapping[str, Any]]:
        """One visible document per session of the user (see :func:`live_sessions`)."""
        visible, pending_unsure, renewals_unseen = live_sessions(
            [doc async for doc in self._sessions.find({"user_id": user_id})]
        )
        seen = {doc["_id"] for doc in visible}
        for doc_id in pending_unsure:
            doc = await self._sessions.find_one({"_id": doc_id})
            if doc is not None and is_live(doc) and doc_id not in seen:
                visible.append(doc)
                seen.add(doc_id)
        for doc_id in renewals_unseen:
            doc = await self._sessions.find_one({"_id": doc_id, REPLACED_BY: None})
            if doc is not None and doc["user_id"] == user_id and doc_id not in seen:
                visible.append(doc)
                seen.add(doc_id)
        return visible

    @guarded
    async def renew_session(self, session_id: str, renewed: SessionRow) -> bool:
        """Replace a session by its renewal (insert pending, commit, confirm, clean up; see the class notes)."""
        await self._insert(self._sessions, session_document(renewed, **{RENEWAL_OF: session_id}), "session")
        committed = await self._sessions.update_one(
            {"_id": session_id, RENEWAL_OF: None, REPLACED_BY: None}, {"$set": {REPLACED_BY: renewed.id}}
        )
        if committed.matched_count != 1:
            await self._sessions.delete_one({"_id": renewed.id, RENEWAL_OF: session_id})
            return False
        confirmed = await self._sessions.update_one(
            {"_id": renewed.id, RENEWAL_OF: session_id}, {"$unset": {RENEWAL_OF: ""}}
        )
        await self._sessions.delete_one({"_id": session_id, REPLACED_BY: renewed.id})
        # Not confirmed: a revocation deleted the renewal after the commit.
        return confirmed.matched_count == 1

    @guarded
    async def update_session(self, session_id: str, *, active_expires: int, idle_expires: int) -> None:
        """Move a session's expiry."""
        update = {"$set": {"active_expires": active_expires, "idle_expires": idle_expires}}
        await self._sessions.update_one({"_id": session_id}, update)

    async def _revoke(self, session_id: str) -> None:
        doc = await self._sessions.find_one_and_delete({"_id": session_id}, {REPLACED_BY: 1})
        target = None if doc is None else doc.get(REPLACED_BY)
        for _ in range(_MAX_DELETE_PASSES):  # a renewal committed before the delete: follow its pointer
            if target is None:
                break
            doc = await self._sessions.find_one_and_delete({"_id": target}, {REPLACED_BY: 1})
            target = None if doc is None else doc.get(REPLACED_BY)
        # Renewals in their grace window (indexed). A pending renewal of session_id needs
        # nothing: its commit finds the old document gone, and it deletes itself.
        await self._sessions.delete_many({"previous_id": session_id})

    @guarded
    async def delete_sessions_by_user_id(self, user_id: str, *, except_session_id: str | None = None) -> None:
        """Delete every session of a user, or all but the one named ``except_session_id`` (id or previous id)."""
        where: dict[str, Any] = {"user_id": user_id}
        if except_session_id is not None:
            where["_id"] = {"$ne": except_session_id}
            where["previous_id"] = {"$ne": except_session_id}
        await self._delete_sessions_where(where)

    async def _delete_sessions_where(self, where: Mapping[str, Any]) -> None:
        # Twice at least, then while a pass still deletes something: a renewal committed
        # before a pass deleted its old document inserted its own before that pass ended.
        for attempt in range(_MAX_DELETE_PASSES):
            result = await self._sessions.delete_many(where)
            if attempt >= 1 and result.deleted_count == 0:
                break

    @guarded
    async def get_session_and_user(self, session_id: str) -> tuple[SessionRow, UserRow] | None:
        """The session (or its renewal) and its user in one round trip (an aggregation with ``$lookup``)."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"$or": [{"_id": session_id}, {"previous_id": session_id}]}},
            {
                "$lookup": {
                    "from": self._names.user,
                    "localField": "user_id",
                    "foreignField": "_id",
                    "as": JOINED_USER,
                }
            },
        ]
        cursor = await resolve(self._sessions.aggregate(pipeline))
        chosen = choose_session(session_id, await cursor.to_list(length=None))
        if isinstance(chosen, Unsure):
            doc = await self._find_session_in_order(session_id)
            user = None if doc is None else await self._users.find_one({"_id": doc["user_id"]})
            return None if doc is None or user is None else (session_row(doc), user_row(user))
        if chosen is None or not chosen[JOINED_USER]:
            return None
        return session_row(chosen), user_row(chosen[JOINED_USER][0])

    # -- passkeys --------------------------------------------------------------------

    @guarded
    async def set_passkey_credential(self, credential: PasskeyCredentialRow) -> None:
        """Insert a credential of an existing user.

        Raises:
            LuciaError: ``AUTH_DUPLICATE_KEY_ID`` or ``AUTH_INVALID_USER_ID``.
        """
        await self._insert_for_user(self._passkeys, passkey_document(credential), "passkey")

    @guarded
    async def get_passkey_credential(self, credential_id: str) -> PasskeyCredentialRow | None:
        """Return a credential, or ``None``."""
        doc = await self._passkeys.find_one({"_id": credential_id})
        return None if doc is None else passkey_row(doc)

    @guarded
    async def get_passkey_credentials_by_user_id(self, user_id: str) -> list[PasskeyCredentialRow]:
        """Every credential of a user."""
        return [passkey_row(doc) async for doc in self._passkeys.find({"user_id": user_id})]

    @guarded
    async def update_passkey_credential_use(
        self, credential_id: str, *, expected_sign_count: int, sign_count: int, backed_up: bool, last_used_at: int
    ) -> bool:
        """Record a use only if the counter is still ``expected_sign_count`` (one conditional update)."""
        result = await self._passkeys.update_one(
            {"_id": credential_id, "sign_count": expected_sign_count},
            {"$set": {"sign_count": sign_count, "backed_up": backed_up, "last_used_at": last_used_at}},
        )
        return bool(result.matched_count == 1)

    @guarded
    async def rename_passkey_credential(self, user_id: str, credential_id: str, name: str) -> bool:
        """Rename a credential of this user."""
        result = await self._passkeys.update_one({"_id": credential_id, "user_id": user_id}, {"$set": {"name": name}})
        return bool(result.matched_count == 1)

    @guarded
    async def delete_passkey_credential(self, user_id: str, credential_id: str) -> bool:
        """Delete a credential of this user."""
        result = await self._passkeys.delete_one({"_id": credential_id, "user_id": user_id})
        return bool(result.deleted_count == 1)

    @guarded
    async def set_challenge(self, challenge: ChallengeRow) -> None:
        """Store a ceremony challenge."""
        await self._challenges.insert_one(challenge_document(challenge))

    @guarded
    async def use_challenge(self, challenge_id: str) -> ChallengeRow | None:
        """Delete and return a challenge in one ``find_one_and_delete`` (SECURITY T1)."""
        doc = await self._challenges.find_one_and_delete({"_id": challenge_id})
        return None if doc is None else challenge_row(doc)

    @guarded
    async def delete_expired_challenges(self, now: int) -> None:
        """Delete the challenges whose ``expires`` is at or before ``now`` (ms)."""
        await self._challenges.delete_many({"expires": {"$lte": now}})

    # -- helpers ---------------------------------------------------------------------

    @staticmethod
    async def _insert(collection: Any, doc: Mapping[str, Any], role: TableRole, *, session: Any = None) -> None:
        try:
            await collection.insert_one(doc, session=session)
        except DuplicateKeyError as exc:
            raise _translate(exc, role) from exc

    async def _insert_for_user(self, collection: Any, doc: Mapping[str, Any], role: TableRole) -> None:
        # No foreign keys in MongoDB: check, insert, check again. The second check catches
        # a delete_user that ran between the first check and the insert.
        if await self._users.find_one({"_id": doc["user_id"]}, {"_id": 1}) is None:
            raise constraint_error(role, Violation.FOREIGN_KEY) or LuciaError("AUTH_INVALID_USER_ID")
        await self._insert(collection, doc, role)
        if await self._users.find_one({"_id": doc["user_id"]}, {"_id": 1}) is None:
            await collection.delete_one({"_id": doc["_id"], "user_id": doc["user_id"]})
            raise constraint_error(role, Violation.FOREIGN_KEY) or LuciaError("AUTH_INVALID_USER_ID")
