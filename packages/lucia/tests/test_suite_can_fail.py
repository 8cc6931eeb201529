"""The conformance suite catches broken adapters: a suite that cannot fail proves nothing."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

BROKEN = textwrap.dedent(
    '''
    import anyio
    import pytest

    from lucia.adapters.memory import MemoryAdapter
    from lucia.testing import AdapterTests


    class DuplicateKeys(MemoryAdapter):
        """Accepts a duplicate key id (overwrites it) instead of raising."""

        async def set_key(self, key):
            self.keys[key.id] = key

        async def set_user(self, user, key):
            self.users[user.id] = user  # not atomic: the user is written before the key check
            if key is not None:
                if key.id in self.keys:
                    from lucia import LuciaError
                    raise LuciaError("AUTH_DUPLICATE_KEY_ID")
                self.keys[key.id] = key


    class ReadThenDelete(MemoryAdapter):  # otherwise correct
        """Consumes single-use keys by reading, yielding, then deleting: two callers can win."""

        async def use_single_use_key(self, key_id):
            key = self.keys.get(key_id)
            await anyio.sleep(0)
            if key is None or key.expires is None:
                return None
            self.keys.pop(key_id, None)
            return key


    class TestDuplicateKeys(AdapterTests):
        @pytest.fixture
        def adapter(self):
            return DuplicateKeys()

        @pytest.fixture
        def raw_dump(self, adapter):
            async def dump():
                return repr((adapter.users, adapter.keys, adapter.sessions))
            return dump


    class TestReadThenDelete(TestDuplicateKeys):
        @pytest.fixture
        def adapter(self):
            return ReadThenDelete()


    class TestNoDump(AdapterTests):
        @pytest.fixture
        def adapter(self):
            return MemoryAdapter()
    '''
)


def test_suite_fails_on_broken_adapters(pytester: pytest.Pytester) -> None:
    """Duplicate keys, non-atomic sign-up, read-then-delete consumption and a missing dump all fail."""
    pytester.makepyfile(test_broken=BROKEN)
    result = pytester.runpytest_subprocess("-p", "anyio", "-q", "-W", "error")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) > 0
    failed = "\n".join(line for line in result.outlines if line.startswith(("FAILED", "ERROR")))
    for expected in (
        "TestDuplicateKeys::test_set_key_duplicate_raises",
        "TestDuplicateKeys::test_d1_set_user_with_duplicate_key_leaves_no_user",
        "TestReadThenDelete::test_t1_concurrent_single_use_consumption_has_one_winner",
        "TestReadThenDelete::test_t1_single_use_key_is_used_once_under_concurrency",
        "TestNoDump::test_s2_raw_storage_never_holds_the_token",
    ):
        assert expected in failed, failed
    assert "TestNoDump::test_set_and_get_session" not in failed
