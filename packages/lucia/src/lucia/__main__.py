"""``python -m lucia schema <dialect>``: print the DDL of Lucia's tables."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lucia._errors import LuciaError
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
    args = parser.parse_args(argv)
    try:
        columns = dict(_split_column(c) for c in args.user_column)
        statements = SQLStatements(
            dialect_named(args.dialect),
            TableNames(user=args.user_table, session=args.session_table, key=args.key_table),
        )
        ddl = statements.schema(columns)
    except LuciaError as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return 2
    print(";\n".join(ddl) + ";")
    return 0


def _split_column(text: str) -> tuple[str, str]:
    name, sep, type_ = text.partition(":")
    if not sep:
        raise LuciaError("AUTH_INVALID_INPUT", f"--user-column takes NAME:TYPE, not {text!r}")
    return name, type_


if __name__ == "__main__":
    raise SystemExit(main())
