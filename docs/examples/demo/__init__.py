"""The Lucia for Python demo: a small Starlette site that shows what the library does.

Sign up, sign in and out ("keep me signed in" or not), email verification and password
reset (the "mail" is printed to the console), two-factor sign-in with an authenticator
app, your devices (sign one out, or all others), passkeys, and OAuth / OpenID Connect
sign-in for the providers you configure. Every error has its own message: a wrong
password, too many attempts, a taken email, an expired link.

Run it with ``nox -s demo`` (or ``python -m docs.examples.demo`` from the repository root)
and open http://127.0.0.1:8000. Settings come from the environment (see
:class:`~docs.examples.demo.config.Settings`): ``DATABASE_URL`` picks SQLite (default,
``lucia-demo.db``), PostgreSQL, MySQL/MariaDB or MongoDB; ``REDIS_URL`` keeps sessions in
Redis; ``OIDC_ISSUER``/``OIDC_CLIENT_ID``/``OIDC_CLIENT_SECRET`` add an OpenID Connect
button; ``BASE_URL`` is the public URL when it is not ``http://HOST:PORT``.

Where things are: ``accounts.py`` (sign-up, sign-in, email links), ``two_factor.py``,
``devices.py``, ``passkeys.py`` (with ``static/passkeys.js``), ``oauth.py``, ``app.py``
(routes and middleware), ``config.py`` (adapters and providers from the environment),
``web.py`` (what the pages share), ``templates/`` and ``static/style.css``. The pages
work without JavaScript; only passkeys need it.
"""

from .app import create_app, main
from .config import Settings, create_auth

__all__ = ["Settings", "create_app", "create_auth", "main"]
