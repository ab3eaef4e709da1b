"""Horizon with the CloudKitty plugin, and a headless Chromium to look at
it, for the Horizon panel check.

Horizon and ``cloudkitty-dashboard`` live in a virtualenv of their own,
built by ``tools/horizon-venv.sh`` (its ``local_settings.py`` reads the
Keystone URL from the environment); Chromium and its
driver are Debian's ``chromium`` and ``chromium-driver``; the browser is
driven with selenium from the test virtualenv. Screenshots and Horizon's
log go to :func:`artifacts_dir`.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import cloudkitty
from cloudkitty.tests import services

__all__ = ["Browser", "HORIZON_VERSION", "artifacts_dir", "browser",
           "needs_browser", "needs_horizon", "running_horizon", "venv"]

#: The Horizon version tools/horizon-venv.sh installs (it names the venv).
HORIZON_VERSION = "27.0.0"
CHROMIUM = os.environ.get("CLOUDKITTY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CLOUDKITTY_TEST_CHROMEDRIVER",
                              "/usr/bin/chromedriver")
#: Wide enough for Horizon's full layout (side bar and tables).
WIDTH = 1400


def venv() -> Path:
    """Where tools/horizon-venv.sh builds (or built) the virtualenv."""
    if os.environ.get("CLOUDKITTY_HORIZON_VENV"):
        return Path(os.environ["CLOUDKITTY_HORIZON_VENV"])
    cache = os.environ.get("XDG_CACHE_HOME",
                           os.path.expanduser("~/.cache"))
    return Path(cache) / "cloudkitty" / f"horizon-{HORIZON_VERSION}"


def _venv_complete() -> bool:
    return (venv() / ".cloudkitty-horizon-complete").is_file()


def _browser_installed() -> bool:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return False
    return all(os.access(p, os.X_OK) for p in (CHROMIUM, CHROMEDRIVER))


def needs_horizon() -> pytest.MarkDecorator:
    return services.needs(_venv_complete(),
                          f"no Horizon virtualenv at {venv()} "
                          f"(tools/horizon-venv.sh)")


def needs_browser() -> pytest.MarkDecorator:
    return services.needs(_browser_installed(),
                          f"selenium, {CHROMIUM} or {CHROMEDRIVER} missing "
                          f"(apt-get install chromium chromium-driver)")


def artifacts_dir() -> Path:
    """``$CLOUDKITTY_TEST_ARTIFACTS/horizon``, by default
    ``<repository>/.test-artifacts/horizon``; created, emptied of an
    earlier run's screenshots."""
    base = os.environ.get("CLOUDKITTY_TEST_ARTIFACTS")
    root = (Path(base) if base else
            Path(cloudkitty.__file__).resolve().parent.parent
            / ".test-artifacts")
    path = root / "horizon"
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("*.png"):
        old.unlink(missing_ok=True)
    return path


def _wait_for_login_page(url: str, process: subprocess.Popen[bytes],
                         log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Horizon exited with {process.returncode}:"
                               f"\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"Horizon did not answer on {url}:\n"
                       f"{log.read_text(errors='replace')}")


@contextlib.contextmanager
def running_horizon(port: int, keystone_url: str, log: Path,
                    timeout: float = 90.0) -> Iterator[str]:
    """Run Horizon (Django's development server, static files served
    with ``--insecure`` since DEBUG is off) on ``127.0.0.1:port`` against
    ``keystone_url``; yield its URL once the login page answers."""
    if not _venv_complete():
        raise RuntimeError(f"no Horizon virtualenv at {venv()}: run "
                           f"tools/horizon-venv.sh")
    env = {**os.environ,
           "DJANGO_SETTINGS_MODULE": "openstack_dashboard.settings",
           "CLOUDKITTY_HORIZON_KEYSTONE_URL": keystone_url,
           "PYTHONWARNINGS": "ignore"}
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(venv() / "bin" / "django-admin"), "runserver",
             "--insecure", "--noreload", f"127.0.0.1:{port}"],
            env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_for_login_page(url + "/auth/login/", process, log,
                                 timeout)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Browser:
    """A headless Chromium on Horizon at ``url``; screenshots go to
    ``artifacts``."""

    def __init__(self, url: str, artifacts: Path) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox",
                         "--disable-dev-shm-usage", "--disable-gpu",
                         f"--window-size={WIDTH},900", "--lang=en-US"):
            options.add_argument(argument)
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER),
                                       options=options)
        self.driver.set_page_load_timeout(90)
        self.url = url
        self.artifacts = artifacts

    def quit(self) -> None:
        self.driver.quit()

    def login(self, username: str, password: str, region: str,
              then: str) -> None:
        """Log in through Horizon's login form (a fresh session) with
        ``region`` as the services region, and land on the page at path
        ``then``.

        Horizon starts a session in the region of the identity endpoint
        it logged in through, unless the ``services_region`` cookie (what
        its region menu sets) names another region of the catalog.
        """
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver.delete_all_cookies()
        self.driver.get(f"{self.url}/auth/login/?next={then}")
        self.driver.add_cookie({"name": "services_region", "value": region,
                                "path": "/"})
        self.driver.find_element(By.ID, "id_username").send_keys(username)
        self.driver.find_element(By.ID, "id_password").send_keys(password)
        self.driver.find_element(By.ID, "loginBtn").click()
        WebDriverWait(self.driver, 90).until(
            ec.url_contains(then),
            f"no landing on {then} after logging in as {username}")

    def open(self, path: str) -> None:
        self.driver.get(self.url + path)

    def click_link(self, text: str) -> None:
        """Click the link reading ``text`` (a tab, a menu entry)."""
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.LINK_TEXT, text).click()

    def text(self, css: str) -> list[str]:
        """The visible text of every element matching ``css``."""
        from selenium.webdriver.common.by import By

        return [e.text.strip()
                for e in self.driver.find_elements(By.CSS_SELECTOR, css)]

    def rows(self, xpath: str) -> list[list[str]]:
        """The cells' text of the table rows matching ``xpath``."""
        from selenium.webdriver.common.by import By

        return [[cell.text.strip()
                 for cell in row.find_elements(By.TAG_NAME, "td")]
                for row in self.driver.find_elements(By.XPATH, xpath)]

    @staticmethod
    def _panel(title: str) -> str:
        """XPath of the Bootstrap panel headed ``title``."""
        return ("//div[contains(concat(' ', normalize-space(@class), ' '),"
                f" ' panel ')][.//h3[normalize-space()='{title}']]")

    def panel_value(self, title: str) -> str:
        """The big figure (``p.h2``) of the panel headed ``title``."""
        from selenium.webdriver.common.by import By

        return str(self.driver.find_element(
            By.XPATH, f"{self._panel(title)}//p[contains(@class, 'h2')]"
        ).text.strip())

    def panel_rows(self, title: str) -> list[list[str]]:
        """The table rows of the panel headed ``title``."""
        return self.rows(f"{self._panel(title)}//tbody/tr")

    def screenshot(self, name: str) -> Path:
        """A PNG of the whole page (the window is stretched to its
        height first), kept as ``<artifacts>/<name>.png``."""
        height = self.driver.execute_script(
            "return document.documentElement.scrollHeight")
        self.driver.set_window_size(WIDTH, max(900, int(height) + 100))
        path = self.artifacts / f"{name}.png"
        assert self.driver.save_screenshot(str(path)), path
        return path


@contextlib.contextmanager
def browser(url: str, artifacts: Path) -> Iterator[Browser]:
    chrome = Browser(url, artifacts)
    try:
        yield chrome
    finally:
        chrome.quit()

