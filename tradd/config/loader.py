"""Load and validate the configuration: the only place tradd reads settings.

Errors are collected, not raised one by one: `tradd config check` shows every problem
with its dotted key path and the offending value (secrets redacted).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import BaseModel, SecretStr, ValidationError

from tradd.config.settings import ENV_NESTED_DELIMITER, ENV_PREFIX, Settings
from tradd.errors import ConfigError

CONFIG_ENV_VAR = "TRADD_CONFIG"
"""Names the config file; not itself a setting."""
NON_SETTING_ENV_VARS = (CONFIG_ENV_VAR, "TRADD_CHROMIUM")
"""`TRADD_*` variables that are not settings: the config file, and the browser that prints
the comparison PDFs (a program for one command, not part of the configuration)."""
DEFAULT_CONFIG_PATHS = (Path("etc/tradd.toml"), Path("/etc/tradd/tradd.toml"))


def resolve_config_path(explicit: Path | None, environ: Mapping[str, str]) -> Path | None:
    """The file to read: `--config`, else $TRADD_CONFIG, else the first default that exists."""
    if explicit is not None:
        return explicit
    if environ.get(CONFIG_ENV_VAR):
        return Path(environ[CONFIG_ENV_VAR])
    return next((p for p in DEFAULT_CONFIG_PATHS if p.is_file()), None)


def load_settings(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    dotenv_path: Path | None = Path(".env"),
) -> Settings:
    """Read TOML + `TRADD_*` environment + `.env` into a frozen `Settings`.

    Raises `ConfigError` listing every problem found.
    """
    env = dict(os.environ if environ is None else environ)
    config_path = resolve_config_path(path, env)
    file_values = _read_toml(config_path) if config_path else {}
    dotenv = _read_dotenv(dotenv_path)
    problems = _unknown_env_keys(env, "environment") + _unknown_env_keys(dotenv, str(dotenv_path))
    # Only our own prefixed keys take part; the rest of a .env file belongs to other tools.
    merged_env = {**dotenv, **env}
    for name in NON_SETTING_ENV_VARS:
        merged_env.pop(name, None)
    try:
        settings = Settings(**_deep_merge(file_values, _env_tree(merged_env)))
    except ValidationError as exc:
        problems += [_describe(error, merged_env) for error in exc.errors()]
        settings = None
    where = str(config_path) if config_path else "defaults"
    if problems or settings is None:
        raise ConfigError(f"invalid configuration ({where}): {len(problems)} problem(s)", problems)
    return settings


def _env_tree(env: Mapping[str, str]) -> dict[str, Any]:
    """`TRADD_BACKTEST__CASH=5` -> {"backtest": {"cash": "5"}}; pydantic converts the strings."""
    tree: dict[str, Any] = {}
    for key, value in env.items():
        if not key.startswith(ENV_PREFIX) or key in NON_SETTING_ENV_VARS:
            continue
        parts = key[len(ENV_PREFIX) :].lower().split(ENV_NESTED_DELIMITER)
        if not _is_setting(Settings, parts):
            continue  # reported by _unknown_env_keys
        *parents, leaf = parts
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[leaf] = value
    return tree


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _read_dotenv(path: Path | None) -> dict[str, str]:
    if path is None or not path.is_file():
        return {}
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def _unknown_env_keys(env: Mapping[str, str], source: str) -> list[str]:
    """`TRADD_*` variables that name no setting: a typo must not be silently ignored."""
    problems = []
    for key in sorted(env):
        if not key.startswith(ENV_PREFIX) or key in NON_SETTING_ENV_VARS:
            continue
        parts = key[len(ENV_PREFIX) :].lower().split(ENV_NESTED_DELIMITER)
        if not _is_setting(Settings, parts):
            dotted = ".".join(parts)
            problems.append(f"{dotted}: unknown key (from {key} in {source})")
    return problems


def _is_setting(model: type[BaseModel], parts: list[str]) -> bool:
    field = model.model_fields.get(parts[0])
    if field is None:
        return False
    if len(parts) == 1:
        return True
    sub = field.annotation
    return isinstance(sub, type) and issubclass(sub, BaseModel) and _is_setting(sub, parts[1:])


def _describe(error: Mapping[str, Any], env: Mapping[str, str]) -> str:
    path = ".".join(str(p) for p in error["loc"]) or "(root)"
    if error["type"] == "extra_forbidden":
        return f"{path}: unknown key"
    if not error["loc"] and error["type"] == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")  # names its own key path
    value = error.get("input")
    if isinstance(value, dict) and error["type"] == "value_error":
        # A whole section failed a check that names its own keys: echoing the section
        # would print every value in it, secrets included.
        return f"{path}: " + str(error["msg"]).removeprefix("Value error, ")
    shown = "<redacted>" if _is_secret_path(path) or isinstance(value, dict) else repr(value)
    source = _env_source(path, env)
    return f"{path}: {error['msg']} (got {shown}{source})"


def _env_source(path: str, env: Mapping[str, str]) -> str:
    key = ENV_PREFIX + path.upper().replace(".", ENV_NESTED_DELIMITER)
    return f" from {key}" if key in env else ""


def _is_secret_path(path: str) -> bool:
    model: type[BaseModel] = Settings
    for part in path.split("."):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        if annotation is not None and "SecretStr" in str(annotation):
            return True
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    return False


def redact_url(url: str | SecretStr | None) -> str:
    """A URL fit for logs and output: any password replaced by ***."""
    if url is None:
        return ""
    raw = url.get_secret_value() if isinstance(url, SecretStr) else url
    scheme, sep, rest = raw.partition("://")
    if not sep or "@" not in rest:
        return raw
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else raw
