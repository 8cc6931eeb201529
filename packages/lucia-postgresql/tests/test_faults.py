"""The storage-fault suite over the adapter, through a fault-injecting proxy in front of the real server."""

from lucia_testkit.sql_suites import TestFaults  # noqa: F401 (collected here, over the conftest's sql_kit)
