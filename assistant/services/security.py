"""Who may open the app: loopback only by default; any other address needs logins (or an explicit
--insecure). Logins come from YUNYING_AUTH ("user:pass,user2:pass2") or YUNYING_AUTH_FILE (one user:pass a
line); their passwords, like API keys, are never printed."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal, TypeVar

from assistant.core.errors import InputError
from assistant.core.settings import Settings


class SecurityError(InputError):
    """A configuration that would expose the app or its secrets; the CLI refuses to start with it."""


Secret = TypeVar("Secret")


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


def _file_lines(path: Path | None, setting: str) -> list[str]:
    """The lines of a secrets file (none when the setting is unset); one that cannot be read is refused."""
    if path is None:
        return []
    try:
        return path.expanduser().read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeError) as exc:
        raise SecurityError(f"{setting} {path}: cannot read it ({exc})") from exc


def _required_off_loopback(
    found: list[Secret], host: str, insecure: bool, refusal: str
) -> list[Secret] | None:
    """`found` when there is any; None (open) on loopback or with --insecure; else `refusal`."""
    if found:
        return found
    if not is_loopback(host) and not insecure:
        raise SecurityError(refusal)
    return None


def load_logins(settings: Settings) -> list[tuple[str, str]]:
    """Every configured login (both sources may be used together)."""
    logins = _parse(settings.auth.get_secret_value().split(","), "YUNYING_AUTH")
    if settings.auth_file is not None:
        lines = _file_lines(settings.auth_file, "YUNYING_AUTH_FILE")
        logins += _parse(lines, f"YUNYING_AUTH_FILE {Path(settings.auth_file)}")
    return logins


TeamAccess = Literal["manager", "logins-off", "not-manager"]


def team_access(settings: Settings, user: str) -> TeamAccess:
    """May `user` see the team's progress? Only a configured login named in YUNYING_MANAGERS, and only
    when logins are on (with logins off everyone is the one local user, and nobody is a manager)."""
    names = {name for name, _ in load_logins(settings)}
    if not names:
        return "logins-off"
    return "manager" if user in names and user in settings.managers else "not-manager"


def serve_logins(settings: Settings, host: str, insecure: bool = False) -> list[tuple[str, str]] | None:
    """The logins `serve` must require on `host`, or None for an open app; refuses an open app on a
    non-loopback address unless `insecure`."""
    refusal = (
        f"refusing to serve on {host} without a login: set YUNYING_AUTH=user:password (or "
        "YUNYING_AUTH_FILE), or pass --insecure to serve it open to the network"
    )
    return _required_off_loopback(load_logins(settings), host, insecure, refusal)


def load_api_keys(settings: Settings) -> list[str]:
    """Every configured key of the OpenAI-compatible API: YUNYING_API_KEYS and YUNYING_API_KEYS_FILE."""
    keys = [key.strip() for key in settings.api_keys.get_secret_value().split(",")]
    lines = _file_lines(settings.api_keys_file, "YUNYING_API_KEYS_FILE")
    keys += [line.strip() for line in lines if not line.strip().startswith("#")]
    keys = [key for key in dict.fromkeys(keys) if key]
    short = [number for number, key in enumerate(keys, start=1) if len(key) < 8]
    if short:  # a guessable key is worse than none: it looks protected
        raise SecurityError(f"API key {short[0]} is shorter than 8 characters; use a long random key")
    return keys


def serve_api_keys(settings: Settings, host: str, insecure: bool = False) -> list[str] | None:
    """The keys the API must require on `host`, or None for an open API; like `serve_logins`, refuses an
    open API on a non-loopback address unless `insecure`."""
    refusal = (
        f"refusing to serve the API on {host} without an API key: set YUNYING_API_KEYS=<key> (or "
        "YUNYING_API_KEYS_FILE), pass --no-api to serve the app alone, or --insecure to serve it open"
    )
    return _required_off_loopback(load_api_keys(settings), host, insecure, refusal)
