"""Bot settings: config/sanad.toml defaults overridden by environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomllib

from bot.paths import bundled, default_corpus, default_db

DEFAULT_API_URL = "https://api.telegram.org"
CONFIG_ENV = "SANAD_CONFIG"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    """Everything the bot needs to run; the token is kept out of repr()."""

    token: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL
    admin_ids: frozenset[int] = frozenset()
    db_path: Path = field(default_factory=default_db)  # the per-user data folder (bot/paths.py)
    database_url: str | None = field(default=None, repr=False)  # postgresql://... instead of the SQLite file
    key_file: Path | None = None  # the id key (retrieval/pseudonym.py); default: beside the SQLite file
    corpus_dir: Path = field(default_factory=default_corpus)
    retention_days: int = 90
    top: int = 3
    rate_limit: int = 10
    chat_rate_limit: int = 30
    upload_max_bytes: int = 2_000_000
    uploads_per_hour: int = 20
    webhook_listen: str = "0.0.0.0"
    webhook_secret: str | None = field(default=None, repr=False)

    @property
    def database(self) -> str | Path:
        """Where the store lives: SANAD_DATABASE_URL when set, else the SQLite file."""
        return self.database_url or self.db_path

    @property
    def id_key_file(self) -> Path:
        """The id key file: SANAD_KEY_FILE, else the one beside the SQLite file (even when the store is
        PostgreSQL: every replica must then hold a copy of the same file)."""
        from retrieval.pseudonym import key_path
        return self.key_file or key_path(self.db_path)

    @property
    def base_url(self) -> str:
        """Bot API method root, as PTB expects it (the token is appended by PTB)."""
        return f"{self.api_url}/bot"

    @property
    def base_file_url(self) -> str:
        """Bot API file download root, as PTB expects it."""
        return f"{self.api_url}/file/bot"

    def require_token(self) -> str:
        """Return the bot token or explain how to provide one."""
        if not self.token:
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN is not set. Get a token from @BotFather and export "
                "TELEGRAM_BOT_TOKEN=<token>, or try Sanad without Telegram with `sanad chat`."
            )
        return self.token

    def is_admin(self, user_id: int | None) -> bool:
        """True when the Telegram user id is one of Sanad's admins."""
        return user_id is not None and user_id in self.admin_ids


def _int(name: str, value: Any, *, minimum: int = 0) -> int:
    """Parse a non-negative integer setting with a clear error."""
    try:
        number = int(str(value).replace("_", "").strip())
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {number}")
    return number


def parse_admin_ids(value: Any, name: str = "SANAD_ADMIN_IDS") -> frozenset[int]:
    """Parse admin ids from a comma/space separated string or a list of ints."""
    items: list[Any]
    if isinstance(value, str):
        items = [part for part in value.replace(",", " ").split() if part]
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    else:
        raise SettingsError(f"{name} must be a list of Telegram user ids")
    ids: set[int] = set()
    for item in items:
        try:
            ids.add(int(str(item).strip()))
        except ValueError:
            raise SettingsError(f"{name}: {item!r} is not a Telegram user id") from None
    return frozenset(ids)


def _database_url(value: str) -> str:
    """Check SANAD_DATABASE_URL names a PostgreSQL database."""
    if not value.startswith(("postgresql://", "postgres://")):
        raise SettingsError("SANAD_DATABASE_URL must start with postgresql:// (for SQLite, set SANAD_DB to a file)")
    return value


def _api_url(value: str, name: str) -> str:
    """Validate and normalise the Bot API root URL."""
    url = value.strip().rstrip("/")
    if url.endswith("/bot"):
        url = url[: -len("/bot")]
    if not url.startswith(("http://", "https://")):
        raise SettingsError(f"{name} must start with http:// or https://, got {value!r}")
    return url


def _config_path(env: Mapping[str, str]) -> Path | None:
    """Find the TOML defaults: $SANAD_CONFIG, ./config/sanad.toml, or the bundled one."""
    if env.get(CONFIG_ENV):
        path = Path(env[CONFIG_ENV])
        if not path.is_file():
            raise SettingsError(f"{CONFIG_ENV} points to {path}, which is not a file")
        return path
    for path in (Path.cwd() / "config" / "sanad.toml", bundled("config") / "sanad.toml"):
        if path.is_file():
            return path
    return None


def _from_toml(path: Path) -> dict[str, Any]:
    """Read the TOML file into Settings keyword arguments."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"cannot read {path}: {exc}") from None
    telegram = data.get("telegram", {})
    storage = data.get("storage", {})
    answers = data.get("answers", {})
    limits = data.get("limits", {})
    webhook = data.get("webhook", {})
    out: dict[str, Any] = {}
    if "api_url" in telegram:
        out["api_url"] = _api_url(str(telegram["api_url"]), "telegram.api_url")
    if "admin_ids" in telegram:
        out["admin_ids"] = parse_admin_ids(telegram["admin_ids"], "telegram.admin_ids")
    # Relative paths in the file are relative to the folder that holds the file's folder (for
    # config/sanad.toml, the project folder), whatever the working directory.
    root = path.resolve().parent.parent
    if "db" in storage:
        out["db_path"] = root / storage["db"]
    if "corpus" in storage:
        out["corpus_dir"] = root / storage["corpus"]
    if "retention_days" in storage:
        out["retention_days"] = _int("storage.retention_days", storage["retention_days"])
    if "top" in answers:
        out["top"] = _int("answers.top", answers["top"], minimum=1)
    for key, attr in (
        ("questions_per_minute", "rate_limit"),
        ("chat_questions_per_minute", "chat_rate_limit"),
        ("upload_max_bytes", "upload_max_bytes"),
        ("uploads_per_hour", "uploads_per_hour"),
    ):
        if key in limits:
            out[attr] = _int(f"limits.{key}", limits[key], minimum=1)
    if "listen" in webhook:
        out["webhook_listen"] = str(webhook["listen"])
    if webhook.get("secret"):
        out["webhook_secret"] = str(webhook["secret"])
    return out


_INT_ENV = {
    "SANAD_RETENTION_DAYS": ("retention_days", 0),
    "SANAD_TOP": ("top", 1),
    "SANAD_RATE_LIMIT": ("rate_limit", 1),
    "SANAD_CHAT_RATE_LIMIT": ("chat_rate_limit", 1),
    "SANAD_UPLOAD_MAX_BYTES": ("upload_max_bytes", 1),
    "SANAD_UPLOADS_PER_HOUR": ("uploads_per_hour", 1),
}


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """Read overrides from environment variables (empty values are ignored)."""
    out: dict[str, Any] = {}
    if env.get("TELEGRAM_BOT_TOKEN", "").strip():
        out["token"] = env["TELEGRAM_BOT_TOKEN"].strip()
    if env.get("TELEGRAM_API_URL", "").strip():
        out["api_url"] = _api_url(env["TELEGRAM_API_URL"], "TELEGRAM_API_URL")
    if "SANAD_ADMIN_IDS" in env:
        out["admin_ids"] = parse_admin_ids(env["SANAD_ADMIN_IDS"])
    if env.get("SANAD_DB", "").strip():
        out["db_path"] = Path(env["SANAD_DB"].strip())
    if env.get("SANAD_CORPUS", "").strip():
        out["corpus_dir"] = Path(env["SANAD_CORPUS"].strip())
    if env.get("SANAD_DATABASE_URL", "").strip():
        out["database_url"] = _database_url(env["SANAD_DATABASE_URL"].strip())
    if env.get("SANAD_KEY_FILE", "").strip():
        out["key_file"] = Path(env["SANAD_KEY_FILE"].strip())
    for name, (attr, minimum) in _INT_ENV.items():
        if env.get(name, "").strip():
            out[attr] = _int(name, env[name], minimum=minimum)
    if env.get("SANAD_WEBHOOK_LISTEN", "").strip():
        out["webhook_listen"] = env["SANAD_WEBHOOK_LISTEN"].strip()
    if env.get("SANAD_WEBHOOK_SECRET", "").strip():
        out["webhook_secret"] = env["SANAD_WEBHOOK_SECRET"].strip()
    return out


def load_settings(
    env: Mapping[str, str] | None = None, *, config: Path | None = None, **overrides: Any
) -> Settings:
    """Build Settings from the TOML defaults, then the environment, then explicit overrides."""
    env = os.environ if env is None else env
    path = config if config is not None else _config_path(env)
    values: dict[str, Any] = _from_toml(path) if path is not None else {}
    values.update(_from_env(env))
    values.update({key: value for key, value in overrides.items() if value is not None})
    settings = Settings(**values)
    if settings.webhook_secret is not None:
        _check_webhook_secret(settings.webhook_secret)
    return settings


def _check_webhook_secret(secret: str) -> None:
    """Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and -."""
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
    if not 1 <= len(secret) <= 256 or not set(secret) <= allowed:
        raise SettingsError(
            "SANAD_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
        )


__all__ = ["Settings", "SettingsError", "load_settings", "parse_admin_ids", "replace"]
