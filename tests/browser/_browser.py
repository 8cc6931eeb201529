"""A browser tab on the demo, as the tests use it: pages, forms, cookies, screenshots, and a watch for errors."""

from __future__ import annotations

import re
import secrets
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Response

PASSWORD = "correct horse battery"
_STATUS_IN_CONSOLE = re.compile(r"the server responded with a status of (\d{3})")
_OFF_MACHINE = re.compile(r"^https?://(?!(localhost|127\.0\.0\.1)[:/])")


def new_email(who: str) -> str:
    """A fresh address: every test signs up its own users in the shared demo."""
    return f"{who}-{secrets.token_hex(3)}@example.com"


class Tab:
    """One browser profile (its own cookies) with one page on the demo.

    Every console error and uncaught script error on the demo's pages, every 5xx answer,
    and every 4xx answer of the demo that the test did not announce with :meth:`expecting`
    is recorded in :attr:`problems`; the fixture fails the test on any. (The OpenID
    provider's pages are a third party's: their console is not judged.) Requests that
    would leave the machine are aborted, so a test never waits on the network.
    """

    def __init__(self, context: BrowserContext, demo_url: str, screenshots: Path) -> None:
        self.context = context
        self.demo_url = demo_url
        self.screenshots = screenshots
        context.route(_OFF_MACHINE, lambda route: route.abort())
        self.page: Page = context.new_page()
        self.problems: list[str] = []
        self._expected: set[int] = set()
        self._announced: Counter[int] = Counter()  # expected 4xx whose console line may follow
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        self.page.on("response", self._on_response)

    # -- the watch ----------------------------------------------------------------------

    def _on_console(self, message: Any) -> None:
        if message.type != "error" or not self.page.url.startswith(self.demo_url):
            return
        status = _STATUS_IN_CONSOLE.search(message.text)
        if status is not None and self._announced[int(status.group(1))] > 0:
            self._announced[int(status.group(1))] -= 1
            return
        self.problems.append(f"console error on {self.page.url}: {message.text}")

    def _on_response(self, response: Response) -> None:
        if response.status >= 500:
            self.problems.append(f"{response.status} from {response.url}")
        elif response.status >= 400 and response.url.startswith(self.demo_url):
            if response.status in self._expected:
                self._announced[response.status] += 1
            else:
                self.problems.append(f"unexpected {response.status} from {response.url}")

    @contextmanager
    def expecting(self, *statuses: int) -> Iterator[None]:
        """Within the block, these 4xx answers of the demo (and their console lines) are wanted."""
        self._expected.update(statuses)
        try:
            yield
        finally:
            self._expected.difference_update(statuses)

    # -- pages ----------------------------------------------------------------------------

    def goto(self, path: str) -> Response | None:
        """Open a page of the demo (or any URL)."""
        return self.page.goto(path if "://" in path else self.demo_url + path)

    def shot(self, name: str) -> None:
        """Save a screenshot of the whole page as ``<name>.png``."""
        self.page.screenshot(path=self.screenshots / f"{name}.png", full_page=True)

    def submit(self, button: str) -> None:
        """Click a submit button by its name and wait for the page it leads to."""
        with self.page.expect_navigation():
            self.page.get_by_role("button", name=button, exact=True).click()

    def follow(self, link: str, *, last: bool = False) -> None:
        """Click a link by its name (the first one, or the last) and wait for the page it leads to."""
        links = self.page.get_by_role("link", name=link)
        with self.page.expect_navigation():
            (links.last if last else links.first).click()

    def heading(self) -> str:
        """The page's main heading."""
        return self.page.locator("h1").inner_text()

    def message(self) -> str:
        """The page's error or notice (empty when there is none)."""
        found = self.page.locator(".error:visible, .notice:visible")
        return found.first.inner_text() if found.count() else ""

    # -- the account ----------------------------------------------------------------------

    def sign_up(self, email: str, password: str = PASSWORD, *, remember: bool = True) -> None:
        """Create an account from the sign-up page."""
        self.goto("/sign-up")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_label("Keep me signed in on this device").set_checked(remember)
        self.submit("Create account")

    def sign_in(self, email: str, password: str = PASSWORD, *, remember: bool = False) -> None:
        """Fill in and send the sign-in form (the page it leads to may be an error)."""
        if not self.page.url.startswith(self.demo_url + "/sign-in"):
            self.goto("/sign-in")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_label("Keep me signed in on this device").set_checked(remember)
        self.submit("Sign in")

    def sign_out(self) -> None:
        """The header's sign-out button."""
        with self.page.expect_navigation():
            self.page.get_by_role("navigation", name="Account").get_by_role("button", name="Sign out").click()

    def who(self) -> str | None:
        """Whose account this profile is signed in to, asked of ``/me`` with the profile's cookies."""
        answer = self.context.request.get(self.demo_url + "/me")
        return answer.json()["email"] if answer.ok else None

    def session_cookie(self) -> dict[str, Any] | None:
        """The session cookie as the browser keeps it."""
        return next((c for c in self.context.cookies(self.demo_url) if c["name"] == "auth_session"), None)  # type: ignore[misc]
