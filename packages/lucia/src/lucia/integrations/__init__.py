"""Framework integrations: one module per framework, each importing only its framework.

Import the one you use; nothing here is imported by ``import lucia``:

- :mod:`lucia.integrations.starlette` — Starlette and FastAPI
- :mod:`lucia.integrations.django` — Django (sync and async)
- :mod:`lucia.integrations.flask` — Flask
- :mod:`lucia.integrations.aiohttp`, :mod:`lucia.integrations.litestar`, :mod:`lucia.integrations.quart`
- :mod:`lucia.integrations.asgi` and :mod:`lucia.integrations.wsgi` — anything else
"""

__all__: list[str] = []
