"""Test tooling of the Lucia for Python repository (unpublished).

::

    from lucia_testkit import FaultProxy, secantus_server

    with FaultProxy(("127.0.0.1", 5432)) as proxy:
        url = f"postgresql://postgres@127.0.0.1:{proxy.port}/test"
        proxy.stall()
"""

from lucia_testkit._lucia_js import LUCIA_JS_DDL, lucia_js_user_id
from lucia_testkit._proxy import FaultProxy
from lucia_testkit._secantus import secantus_server
from lucia_testkit._version import __version__

__all__ = ["LUCIA_JS_DDL", "FaultProxy", "__version__", "lucia_js_user_id", "secantus_server"]
