"""Headless Chromium (Debian's ``chromium`` + ``chromium-driver``) under Selenium, for tests and benchmarks.

Started with the flags that keep it off the network (no background services, updates, sync or QUIC: this
machine's network is closed and Chromium would otherwise keep trying) in a profile directory of its own.
``selenium`` is a development dependency; it is imported here only when a browser is asked for.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def headless_chromium(profile: Path, *, width: int = 1280, height: int = 900, console_log: bool = False) -> Any:
    """A Selenium Chrome driver; the caller quits it. Missing Chromium or ChromeDriver is a clear error."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        raise RuntimeError("Chromium and ChromeDriver are needed: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    if console_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)
