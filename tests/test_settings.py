"""Settings: TOML defaults, environment overrides, validation, and the token kept out of sight."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import DEFAULT_API_URL, SettingsError, load_settings

TOML = """
[telegram]
api_url = "http://127.0.0.1:9/"
admin_ids = [1, 2]
[storage]
db = "x.sqlite3"
corpus = "c"
retention_days = 7
[limits]
questions_per_minute = 4
upload_max_bytes = 1_000
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "sanad.toml"
    path.write_text(TOML, encoding="utf-8")
    return path


def test_repository_defaults_load() -> None:
    s = load_settings({})
    assert s.api_url == DEFAULT_API_URL
    assert s.token is None and s.rate_limit >= 1 and s.upload_max_bytes > 0


def test_toml_values(config: Path) -> None:
    s = load_settings({}, config=config)
    assert s.api_url == "http://127.0.0.1:9"
    assert s.admin_ids == {1, 2}
    root = config.resolve().parent.parent  # relative paths in the file hang off the project folder
    assert s.db_path == root / "x.sqlite3" and s.corpus_dir == root / "c"
    assert s.retention_days == 7 and s.rate_limit == 4 and s.upload_max_bytes == 1000


def test_env_overrides_toml(config: Path) -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": "123:ABC",
        "TELEGRAM_API_URL": "http://localhost:8081/bot",
        "SANAD_ADMIN_IDS": "5, 6 ,7",
        "SANAD_DB": "/tmp/a.sqlite3",
        "SANAD_CORPUS": "/tmp/corpus",
        "SANAD_RATE_LIMIT": "12",
        "SANAD_RETENTION_DAYS": "30",
        "SANAD_UPLOAD_MAX_BYTES": "5000",
    }
    s = load_settings(env, config=config)
    assert s.require_token() == "123:ABC"
    assert s.api_url == "http://localhost:8081"
    assert s.base_url == "http://localhost:8081/bot"
    assert s.base_file_url == "http://localhost:8081/file/bot"
    assert s.admin_ids == {5, 6, 7} and s.is_admin(5) and not s.is_admin(1) and not s.is_admin(None)
    assert s.db_path == Path("/tmp/a.sqlite3") and s.corpus_dir == Path("/tmp/corpus")
    assert s.rate_limit == 12 and s.retention_days == 30 and s.upload_max_bytes == 5000


def test_empty_admin_ids_env_means_nobody(config: Path) -> None:
    assert load_settings({"SANAD_ADMIN_IDS": ""}, config=config).admin_ids == frozenset()


def test_token_missing_points_to_sanad_chat() -> None:
    with pytest.raises(SettingsError, match="sanad chat"):
        load_settings({}).require_token()


def test_token_not_in_repr() -> None:
    s = load_settings({"TELEGRAM_BOT_TOKEN": "999:SECRET-TOKEN"})
    assert "SECRET-TOKEN" not in repr(s) and "SECRET-TOKEN" not in str(s)


@pytest.mark.parametrize(
    "env",
    [
        {"SANAD_ADMIN_IDS": "12,abc"},
        {"SANAD_RATE_LIMIT": "many"},
        {"SANAD_RATE_LIMIT": "0"},
        {"TELEGRAM_API_URL": "ftp://x"},
        {"SANAD_WEBHOOK_SECRET": "has spaces"},
    ],
)
def test_bad_values_are_clear_errors(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        load_settings(env)


def test_config_env_var(tmp_path: Path, config: Path) -> None:
    assert load_settings({"SANAD_CONFIG": str(config)}).retention_days == 7
    with pytest.raises(SettingsError):
        load_settings({"SANAD_CONFIG": str(tmp_path / "missing.toml")})
