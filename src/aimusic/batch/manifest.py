"""The batch manifest: one SQLite database (WAL) in the output directory that records each
item's state, so a batch killed at any moment can be re-run without paying twice.

States: pending -> running -> (submitted: a hosted request id is known) -> done | failed.
`blocked` marks an item whose dependency (a chosen draft) failed. The hosted request id is
written and committed the moment a submit returns, before the first poll: a resumed batch
follows that id instead of submitting again.

Only the driver process opens the manifest (workers report back to it), so one connection
guarded by a lock is enough; WAL keeps readers (`sqlite3 manifest.sqlite`) from blocking it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from aimusic.errors import InputError

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    spec TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    throttled INTEGER NOT NULL DEFAULT 0,
    remote_id TEXT,
    remote_provider TEXT,
    error TEXT,
    error_code INTEGER,
    error_type TEXT,
    result TEXT,
    cost_usd REAL,
    seconds REAL,
    loudness_lufs REAL,
    updated_at REAL,
    finished_at REAL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT,
    at REAL NOT NULL,
    what TEXT NOT NULL,
    detail TEXT
);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT);
"""

STATES = ("pending", "running", "submitted", "done", "failed", "blocked")


def _redacted(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """No key reaches the manifest, whatever field it hides in (lyrics, an error message)."""
    from aimusic.config import known_secrets, redact

    if not known_secrets():
        return args
    return tuple(redact(a) if isinstance(a, str) else a for a in args)


class Manifest:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30.0,
                                      isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable against a killed process (the WAL is in the OS page cache);
            # FULL would only add power-loss safety at an fsync per item.
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(items)")}
            if "error_type" not in columns:  # a manifest written before errors carried their type
                self.db.execute("ALTER TABLE items ADD COLUMN error_type TEXT")
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.path} is not a usable batch manifest ({exc})", field="output_dir",
                             hint="use an empty output directory, or delete the damaged manifest") from None
        self.lock = threading.RLock()
        # the driver is the only writer, so it can mirror each item's state in memory and the
        # scheduler's loop reads that instead of querying the database on every turn
        self.cache: dict[str, dict[str, Any]] = {}

    def _cache(self, key: str, **fields: Any) -> None:
        self.cache.setdefault(key, {"state": "pending", "remote_id": None}).update(fields)

    def _reload(self) -> None:
        for key, state, remote_id in self.db.execute("SELECT key, state, remote_id FROM items"):
            self.cache[key] = {"state": state, "remote_id": remote_id}

    def states(self) -> dict[str, dict[str, Any]]:
        """key -> {"state", "remote_id"}, kept current by every write (cheap to call)."""
        return self.cache

    def close(self) -> None:
        with self.lock:
            self.db.close()

    # --- writes -------------------------------------------------------------------------

    def _write(self, sql: str, args: tuple[Any, ...] = ()) -> None:
        with self.lock:
            self.db.execute(sql, _redacted(args))

    def add_items(self, items: list[Any]) -> None:
        """Insert new items; an item already known keeps its state (that is what resuming means)."""
        now = time.time()
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for item in items:
                    self.db.execute(
                        "INSERT INTO items(key, seq, spec, updated_at) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET seq=excluded.seq, spec=excluded.spec",
                        _redacted((item.key, item.seq, json.dumps(item.to_dict(), sort_keys=True), now)))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self._reload()

    def event(self, key: str | None, what: str, detail: Any = None) -> None:
        self._write("INSERT INTO events(key, at, what, detail) VALUES (?, ?, ?, ?)",
                    (key, time.time(), what, json.dumps(detail) if detail is not None else None))

    def mark_running(self, key: str) -> None:
        with self.lock:
            self._write("UPDATE items SET state=CASE WHEN state='submitted' THEN 'submitted' ELSE 'running' END, "
                        "updated_at=? WHERE key=?", (time.time(), key))
            if self.cache.get(key, {}).get("state") != "submitted":
                self._cache(key, state="running")

    def set_remote_id(self, key: str, provider: str, remote_id: str) -> None:
        """Record a hosted request id; committed before the caller goes on to poll it."""
        with self.lock:
            self._write("UPDATE items SET state='submitted', remote_id=?, remote_provider=?, updated_at=? "
                            "WHERE key=?", (remote_id, provider, time.time(), key))
            self._write("INSERT INTO events(key, at, what, detail) VALUES (?, ?, 'submitted', ?)",
                            (key, time.time(), json.dumps({"provider": provider, "remote_id": remote_id})))
            self._cache(key, state="submitted", remote_id=remote_id)

    def clear_remote_id(self, key: str) -> None:
        with self.lock:
            self._write("UPDATE items SET remote_id=NULL, remote_provider=NULL WHERE key=?", (key,))
            self._cache(key, remote_id=None)

    def mark_done(self, key: str, result: dict[str, Any], cost_usd: float | None, seconds: float | None,
                  loudness: float | None) -> None:
        now = time.time()
        with self.lock:
            self._write("UPDATE items SET state='done', result=?, cost_usd=?, seconds=?, loudness_lufs=?, "
                            "error=NULL, error_code=NULL, error_type=NULL, updated_at=?, finished_at=? WHERE key=?",
                            (json.dumps(result, default=str), cost_usd, seconds, loudness, now, now, key))
            self._write("INSERT INTO events(key, at, what, detail) VALUES (?, ?, 'done', ?)",
                            (key, now, json.dumps({"cost_usd": cost_usd})))
            self._cache(key, state="done")

    def mark_failed(self, key: str, error: dict[str, Any], *, final: bool, count_attempt: bool = True,
                    throttled: bool = False) -> None:
        with self.lock:
            self._write(
                "UPDATE items SET state=?, attempts=attempts+?, throttled=throttled+?, error=?, error_code=?, "
                "error_type=?, updated_at=? WHERE key=?",
                ("failed" if final else "pending", 1 if count_attempt else 0, 1 if throttled else 0,
                 str(error.get("message", ""))[:2000], error.get("code"), error.get("type"), time.time(), key))
            self._write("INSERT INTO events(key, at, what, detail) VALUES (?, ?, ?, ?)",
                            (key, time.time(), "failed" if final else "retry", json.dumps(error)))
            self._cache(key, state="failed" if final else "pending")

    def mark_blocked(self, key: str, reason: str) -> None:
        with self.lock:
            self._write("UPDATE items SET state='blocked', error=?, updated_at=? WHERE key=?",
                        (reason, time.time(), key))
            self._cache(key, state="blocked")

    def reset_for_run(self, keys: list[str]) -> None:
        """At the start of a run: failed and blocked items get a fresh set of retries."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            for key in keys:
                self.db.execute("UPDATE items SET state='pending', attempts=0, throttled=0 "
                                "WHERE key=? AND state IN ('failed', 'blocked')", (key,))
            self.db.execute("COMMIT")
            self._reload()

    def set_meta(self, key: str, value: Any) -> None:
        self._write("INSERT INTO meta(k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v=excluded.v",
                    (key, json.dumps(value)))

    # --- reads --------------------------------------------------------------------------

    def rows(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            cursor = self.db.execute("SELECT * FROM items ORDER BY seq")
            names = [c[0] for c in cursor.description]
            return {row[0]: dict(zip(names, row)) for row in cursor.fetchall()}

    def row(self, key: str) -> dict[str, Any] | None:
        with self.lock:
            cursor = self.db.execute("SELECT * FROM items WHERE key=?", (key,))
            names = [c[0] for c in cursor.description]
            found = cursor.fetchone()
            return dict(zip(names, found)) if found else None

    def spent(self, keys: list[str] | None = None) -> float:
        """Money recorded for finished items (of `keys`, or all)."""
        with self.lock:
            if keys is None:
                value = self.db.execute("SELECT COALESCE(SUM(cost_usd), 0) FROM items WHERE state='done'").fetchone()
                return float(value[0])
            total = 0.0
            for key in keys:
                found = self.db.execute("SELECT cost_usd FROM items WHERE key=? AND state='done'", (key,)).fetchone()
                if found and found[0]:
                    total += float(found[0])
            return total

    def events(self, what: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            sql = "SELECT key, at, what, detail FROM events" + (" WHERE what=?" if what else "") + " ORDER BY id"
            cursor = self.db.execute(sql, (what,) if what else ())
            return [{"key": k, "at": at, "what": w, "detail": json.loads(d) if d else None}
                    for k, at, w, d in cursor.fetchall()]
