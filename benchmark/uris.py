"""Store addresses: checked up front, and never printed or recorded with a secret in them.

A secret is a URI's password (``user:secret@host``) or the value of a query parameter that carries one
(``?password=secret``, ``?sslpassword=...``, ``?token=...``). Passwords can also stay out of the command
line altogether: libpq reads ``PGPASSFILE`` (``~/.pgpass``) for PostgreSQL, and ``FUSIONBENCH_STORAGE``
/ ``FUSIONBENCH_TRACKING_URI`` give a whole URI from the environment.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from benchmark.errors import ConfigError

MASK = "***"
SECRET_KEYS = (
    "password",
    "passwd",
    "pwd",
    "sslpassword",
    "secret",
    "token",
    "access_token",
    "api_key",
    "apikey",
)
STORAGE_ENV = "FUSIONBENCH_STORAGE"
TRACKING_ENV = "FUSIONBENCH_TRACKING_URI"
STORAGE_SCHEMES = (
    "postgresql",
    "postgresql+psycopg",
    "postgresql+psycopg2",
    "sqlite",
    "mysql",
    "mysql+pymysql",
)
TRACKING_SCHEMES = ("http", "https", "sqlite", "file", *STORAGE_SCHEMES[:3], "mysql", "mysql+pymysql")
HOSTED = (
    "http",
    "https",
    "postgresql",
    "postgresql+psycopg",
    "postgresql+psycopg2",
    "mysql",
    "mysql+pymysql",
)


def _is_secret(key: str) -> bool:
    return key.lower() in SECRET_KEYS


def secrets_of(uri: str) -> list[str]:
    """The secret strings inside ``uri`` (empty for a plain path)."""
    if "://" not in uri:
        return []
    parts = urlsplit(uri)
    found = [parts.password] if parts.password else []
    found += [
        value for key, value in parse_qsl(parts.query, keep_blank_values=True) if _is_secret(key) and value
    ]
    return found


def redact_uri(uri: str) -> str:
    """``scheme://user:secret@host/db?password=x`` -> ``scheme://user:***@host/db?password=***``; a
    string without secrets comes back unchanged."""
    if not secrets_of(uri):
        return uri
    parts = urlsplit(uri)
    netloc = parts.netloc
    if parts.password:
        netloc = f"{parts.username or ''}:{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = parse_qsl(parts.query, keep_blank_values=True)
    masked = urlencode([(k, MASK if _is_secret(k) and v else v) for k, v in query], safe="*")
    return urlunsplit(parts._replace(netloc=netloc, query=masked))


def scrub(text: str, *uris: str) -> str:
    """``text`` (a driver's error message, say) with every secret of ``uris`` masked."""
    for uri in uris:
        for secret in secrets_of(uri):
            text = text.replace(secret, MASK)
    return text


def check_uri(uri: str, key: str, schemes: tuple[str, ...]) -> None:
    """A URI's scheme, host and port, checked before anything is written (one line, exit 2)."""
    parts = urlsplit(uri)
    if parts.scheme not in schemes:
        raise ConfigError(
            f"{key}: scheme {parts.scheme or '(none)'}:// is not supported; use one of: {', '.join(schemes)}"
        )
    try:
        parts.port  # noqa: B018 - urllib checks the port only when it is read
    except ValueError:
        port = parts.netloc.rsplit("@", 1)[-1].rsplit(":", 1)[-1]
        raise ConfigError(
            f"{key}: port {port!r} in {redact_uri(uri)} must be a number from 1 to 65535"
        ) from None
    if parts.scheme in HOSTED and not parts.hostname:
        raise ConfigError(f"{key}: {redact_uri(uri)} names no host; e.g. {parts.scheme}://HOST:PORT/...")
