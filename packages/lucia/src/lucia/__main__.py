"""``python -m lucia schema <dialect>``: print the DDL of Lucia's tables.

``python -m lucia schema <dialect> --upgrade``: print the ``ALTER TABLE`` statements that
give an existing session table (an earlier version's, or Lucia-JS 1.x's) the session
policy columns.

``python -m lucia migrate hash-session-ids --url URL [--apply]``: hash stored session ids
(see :mod:`lucia._migrate`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lucia._errors import LuciaError
from lucia._migrate import add_migrate_command, run_migrate_command
from lucia.adapters.sql import SQLStatements, TableNames, dialect_named


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m lucia", description="Lucia for Python tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    schema = commands.add_parser("schema", help="print the DDL of Lucia's tables")
    schema.add_argument("dialect", help="sqlite, postgresql, mysql (MySQL 8) or mariadb")
    schema.add_argument("--user-table", default="auth_user")
    schema.add_argument("--session-table", default="auth_session")
    schema.add_argument("--key-table", default="auth_key")
    schema.add_argument(
        "--user-column",
        action="append",
        default=[],
        metavar="NAME:TYPE",
        help="an extra user column, e.g. username:string (repeatable)",
    )
    schema.add_argument(
        "--session-column",
        action="append",
        default=[],
        metavar="NAME:TYPE",
        help="an extra session column (a session attribute), e.g. ip_address:string (repeatable)",
    )
    schema.add_argument(
        "--upgrade",
        action="store_true",
        help="print only the ALTER TABLE statements adding the session policy columns to an existing "
        "four-column (Lucia-JS 1.x or earlier) session table",
    )
    add_migrate_command(commands)
    args = parser.parse_args(argv)
    if args.command == "migrate":
        return run_migrate_command(args)
    try:
        user_columns = dict(_split_column(c, "--user-column") for c in args.user_column)
        session_columns = dict(_split_column(c, "--session-column") for c in args.session_column)
        statements = SQLStatements(
            dialect_named(args.dialect),
            TableNames(user=args.user_table, session=args.session_table, key=args.key_table),
        )
        if args.upgrade:
            ddl = statements.session_upgrade(("id", "user_id", "active_expires", "idle_expires"))
        else:
            ddl = statements.schema(user_columns, session_columns)
    except LuciaError as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return 2
    print(";\n".join(ddl) + ";")
    return 0


def _split_column(text: str, option: str) -> tuple[str, str]:
    name, sep, type_ = text.partition(":")
    if not sep:
        raise LuciaError("AUTH_INVALID_INPUT", f"{option} takes NAME:TYPE, not {text!r}")
    return name, type_


if __name__ == "__main__":
    raise SystemExit(main())
