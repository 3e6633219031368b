"""Who may open the app: loopback only by default; any other address needs logins (or an explicit
--insecure). Logins come from YUNYING_AUTH ("user:pass,user2:pass2") or YUNYING_AUTH_FILE (one user:pass a
line); their passwords, like API keys, are never printed."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from assistant.config import Settings
from assistant.errors import InputError


class SecurityError(InputError):
    """A configuration that would expose the app or its secrets; the CLI refuses to start with it."""


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything, so it is not loopback
        return False


def _parse(entries: list[str], where: str) -> list[tuple[str, str]]:
    logins = []
    for number, entry in enumerate(entries, start=1):
        entry = entry.strip()
        if not entry or entry.startswith("#"):
            continue
        user, sep, password = entry.partition(":")
        if not sep or not user.strip() or not password:
            raise SecurityError(f"{where}: login {number} is not user:password")
        logins.append((user.strip(), password))
    return logins


def load_logins(settings: Settings) -> list[tuple[str, str]]:
    """Every configured login (both sources may be used together)."""
    logins = _parse(settings.auth.get_secret_value().split(","), "YUNYING_AUTH")
    if settings.auth_file is not None:
        try:
            lines = settings.auth_file.expanduser().read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeError) as exc:
            raise SecurityError(f"YUNYING_AUTH_FILE {settings.auth_file}: cannot read it ({exc})") from exc
        logins += _parse(lines, f"YUNYING_AUTH_FILE {Path(settings.auth_file)}")
    return logins


def serve_logins(settings: Settings, host: str, insecure: bool = False) -> list[tuple[str, str]] | None:
    """The logins `serve` must require on `host`, or None for an open app; refuses an open app on a
    non-loopback address unless `insecure`."""
    logins = load_logins(settings)
    if logins:
        return logins
    if not is_loopback(host) and not insecure:
        raise SecurityError(
            f"refusing to serve on {host} without a login: set YUNYING_AUTH=user:password (or "
            "YUNYING_AUTH_FILE), or pass --insecure to serve it open to the network"
        )
    return None
