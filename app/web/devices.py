"""Naming a device after its browser's user agent, the way people recognise it."""

from __future__ import annotations

import re

from app.core.i18n import _

_DEVICES = [
    (r"iPhone", "iPhone"),
    (r"iPad", "iPad"),
    (r"Android", "Android"),
    (r"CrOS", "ChromeOS"),
    (r"Mac OS X|Macintosh", "Mac"),
    (r"Windows", "Windows"),
    (r"Linux", "Linux"),
]
_BROWSERS = [
    (r"Edg/", "Edge"),
    (r"SamsungBrowser", "Samsung Internet"),
    (r"Firefox/|FxiOS", "Firefox"),
    (r"Chrome/|CriOS", "Chrome"),
    (r"Safari/", "Safari"),
]


def device_name(user_agent: str) -> str:
    """A passkey's default name, from the device it was created on: "Chrome on Android"."""
    device = next((name for pattern, name in _DEVICES if re.search(pattern, user_agent)), None)
    browser = next((name for pattern, name in _BROWSERS if re.search(pattern, user_agent)), None)
    if device and browser:
        return _("{browser} on {device}").format(browser=browser, device=device)
    return device or browser or _("Unknown device")
