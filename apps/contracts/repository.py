"""Reading a contract file from a repository checkout on the portal's own disk.

Products keep their ODCS contract next to their code; the operators keep checkouts of those
repositories under ``CONTRACT_REPOSITORY_ROOT`` (a pull job, a shared volume). The portal reads
files there and nowhere else: no network access (``https://``, ``git@...`` are refused), no
path outside the root (``..`` and symlinks are resolved before the check), only ``.yaml``,
``.yml`` and ``.json`` files within the contract size limit.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from django.conf import settings

from apps.core.exceptions import ApplicationError
from apps.core.parsing import contract_limits

SUFFIXES = (".yaml", ".yml", ".json")


def _refuse(message: str, detail: str | None = None) -> ApplicationError:
    return ApplicationError(message, {"path": [detail or message]})


def repository_root() -> Path | None:
    """The configured root, resolved; None when importing from repositories is off."""
    root = str(getattr(settings, "CONTRACT_REPOSITORY_ROOT", "") or "").strip()
    if not root:
        return None
    path = Path(root).expanduser().resolve()
    return path if path.is_dir() else None


def repository_contract_read(path: str) -> tuple[str, str]:
    """``path`` (relative to the root, absolute inside it, or ``file://``) → ``(text, path
    relative to the root)``. Raises ``ApplicationError`` (field ``path``) for everything else."""
    root = repository_root()
    if root is None:
        raise _refuse(
            "Importing contracts from repositories is not configured.",
            "Set CONTRACT_REPOSITORY_ROOT to the directory holding the repository checkouts.",
        )
    raw = str(path or "").strip()
    if not raw or "\x00" in raw:
        raise _refuse("Name the contract file.", "A path such as hr-data/contracts/employees.odcs.yaml.")
    if raw.startswith("file:"):
        parsed = urlparse(raw)
        if parsed.netloc not in ("", "localhost"):
            raise _refuse("Only files on this server can be imported.", f"file:// URL with host {parsed.netloc!r}.")
        raw = unquote(parsed.path)
    elif "://" in raw or raw.startswith("git@"):
        raise _refuse(
            "The portal does not fetch contracts over the network.",
            "Give the file's path in the repository checkouts under CONTRACT_REPOSITORY_ROOT.",
        )
    candidate = Path(raw).expanduser()
    try:
        resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
    except (OSError, RuntimeError, ValueError):
        raise _refuse("The path cannot be read.") from None
    if not resolved.is_relative_to(root):
        raise _refuse(
            "The path is outside the repository checkouts.",
            "Only files under CONTRACT_REPOSITORY_ROOT can be imported.",
        )
    relative = str(resolved.relative_to(root))
    if not resolved.is_file():
        raise _refuse(f"No file {relative}.")
    if resolved.suffix.lower() not in SUFFIXES:
        raise _refuse(f"{relative} is not a YAML or JSON file.", f"Expected one of {', '.join(SUFFIXES)}.")
    max_bytes = contract_limits()["max_bytes"]
    if resolved.stat().st_size > max_bytes:
        raise _refuse(f"{relative} is too large.", f"At most {max_bytes:,} bytes are accepted.")
    try:
        return resolved.read_text(encoding="utf-8-sig"), relative
    except UnicodeDecodeError:
        raise _refuse(f"{relative} is not UTF-8 text.") from None
    except OSError as exc:
        raise _refuse(f"{relative} cannot be read ({exc.strerror or exc}).") from None
