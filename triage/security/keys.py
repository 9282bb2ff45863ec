"""API keys: made here, shown once, stored only as SHA-256 hashes, compared in constant time.

A key is 32 random bytes (URL-safe base64), so a plain SHA-256 of it cannot be brute-forced
and needs no slow password hash: checking a key costs one hash per request. The key file
holds ``name sha256:<hex>`` lines; the server re-reads it when it changes, so removing a
line (``revoke``) shuts a key out without a restart. Keys may also come from the
environment (``TRIAGE_API_KEY_HASHES=name:<hex>,...``), e.g. from a secret store.

    python -m triage.security.keys create dispatch-center-1   # prints the key once
    python -m triage.security.keys ensure local               # create one only if none exists
    python -m triage.security.keys revoke dispatch-center-1
    python -m triage.security.keys list
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from triage.config import get_settings

KEY_PREFIX = "tk_"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
HASH_PATTERN = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")


def new_key() -> str:
    """A fresh random key (shown to its owner once, never stored)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", errors="surrogateescape")).digest()


@dataclass(frozen=True)
class StoredKey:
    """A key's name (what the audit trail shows) and the SHA-256 digest of the key."""

    name: str
    digest: bytes


def parse_entry(name: str, hashed: str) -> StoredKey:
    """One ``name`` and ``[sha256:]<hex>`` pair, checked, or ``ValueError``."""
    match = HASH_PATTERN.match(hashed.strip().lower())
    if not NAME_PATTERN.match(name) or not match:
        raise ValueError(f"bad key entry for {name!r}: want a name and sha256:<64 hex digits>")
    return StoredKey(name, bytes.fromhex(match.group(1)))


def parse_file(text: str) -> list[StoredKey]:
    """Entries of a key file: ``name sha256:<hex>`` per line; ``#`` starts a comment."""
    entries = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, hashed = line.partition(" ")
            entries.append(parse_entry(name, hashed))
    return entries


def parse_env(value: str) -> list[StoredKey]:
    """Entries of ``TRIAGE_API_KEY_HASHES``: ``name:<hex>`` separated by commas."""
    entries = []
    for item in value.split(","):
        if item.strip():
            name, _, hashed = item.strip().partition(":")
            entries.append(parse_entry(name, hashed))
    return entries


class KeyStore:
    """The configured keys; :meth:`name_of` finds whose key was presented.

    The file is stat-ed on every lookup and re-read when its modification time or size
    changed: a stat costs microseconds, and a revoked key must stop working at once.
    """

    def __init__(self, path: Path | None, env_value: str = "") -> None:
        self.path = path
        self.env_keys = parse_env(env_value)
        self._file_keys: list[StoredKey] = []
        self._stamp: tuple[int, int] | None = None

    def keys(self) -> list[StoredKey]:
        if self.path is not None:
            try:
                st = self.path.stat()
                stamp = (st.st_mtime_ns, st.st_size)
            except FileNotFoundError:
                stamp = None
            if stamp != self._stamp:
                self._file_keys = parse_file(self.path.read_text(encoding="utf-8")) if stamp else []
                self._stamp = stamp
        return [*self._file_keys, *self.env_keys]

    def name_of(self, presented: str) -> str | None:
        """Name of the key ``presented``, or None. Every stored digest is compared, each in
        constant time, so the answer's timing says nothing about which bytes matched."""
        digest = key_digest(presented)
        found = None
        for stored in self.keys():
            if hmac.compare_digest(digest, stored.digest):
                found = stored.name
        return found


def add_key(path: Path, name: str) -> str:
    """Create a key named ``name``, append its hash to ``path`` (mode 600) and return the key."""
    if not NAME_PATTERN.match(name):
        raise SystemExit(f"key names are 1-64 letters, digits and _.@- (got {name!r})")
    existing = parse_file(path.read_text(encoding="utf-8")) if path.exists() else []
    if any(k.name == name for k in existing):
        raise SystemExit(f"{path} already has a key named {name!r}; revoke it first")
    key = new_key()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write(f"{name} sha256:{key_digest(key).hex()}\n")
    return key


def remove_key(path: Path, name: str) -> bool:
    """Drop the line of key ``name`` from ``path``; True when there was one."""
    if not path.exists():
        return False
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if line.split("#", 1)[0].strip().partition(" ")[0] != name]
    if len(kept) == len(lines):
        return False
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.writelines(kept)
    tmp.replace(path)  # atomic: the server never reads a half-written file
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--file", type=Path, default=None, help="key file (default: TRIAGE_API_KEYS_FILE)")
    commands = parser.add_subparsers(dest="command", required=True)
    for command in ("create", "ensure", "revoke"):
        commands.add_parser(command).add_argument("name")
    commands.add_parser("list")
    commands.add_parser("hash", help="read a key on standard input, print name:<hex> for the environment")
    args = parser.parse_args(argv)
    path = (args.file or Path(get_settings().api_keys_file)).expanduser()

    if args.command == "ensure" and path.exists() and parse_file(path.read_text(encoding="utf-8")):
        print(f"API keys: {path} (existing keys kept; `python -m triage.security.keys create NAME` adds one)")
    elif args.command in ("create", "ensure"):
        key = add_key(path, args.name)
        print(f"New API key {args.name!r} (shown only now; its hash is in {path}):\n\n    {key}\n")
        print('Send it as "Authorization: Bearer <key>", e.g. export TRIAGE_API_KEY=<key>, then')
        print('    curl -H "Authorization: Bearer $TRIAGE_API_KEY" http://localhost:3000/classify/text ...')
    elif args.command == "revoke":
        if not remove_key(path, args.name):
            raise SystemExit(f"no key named {args.name!r} in {path}")
        print(f"revoked {args.name!r}")
    elif args.command == "list":
        keys = parse_file(path.read_text(encoding="utf-8")) if path.exists() else []
        print("\n".join(f"{k.name} sha256:{k.digest.hex()[:12]}..." for k in keys) or f"no keys in {path}")
    elif args.command == "hash":
        print(f"NAME:{key_digest(sys.stdin.readline().strip()).hex()}")


if __name__ == "__main__":
    main()
