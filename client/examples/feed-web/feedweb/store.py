# SPDX-License-Identifier: MIT — crmpubsub
"""The CRM's data in SQLite: contacts, interactions and their parties.

Schema: contacts (uuid, name); interactions (uuid, contact_uuid — the
subject —, subject text, occurred_at); interaction_parties
(interaction_uuid, contact_uuid or NULL for a free-text party, raw_name).
A contact's feed is every interaction where it is the subject or a party,
newest first. Each write is one transaction (BEGIN IMMEDIATE), and the
contacts it names are checked inside it, so a write either commits whole
or raises InputError having written nothing. Each call opens its own
connection: sqlite3 connections are not shared between the server's
threads, and opening one is cheap next to an HTTP request."""

from __future__ import annotations

import contextlib
import datetime
import json
import sqlite3
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Optional

FEED_LIMIT = 200	# interactions shown in one feed, newest first

SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
    uuid TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS interactions (
    uuid TEXT PRIMARY KEY,
    contact_uuid TEXT NOT NULL REFERENCES contacts (uuid),
    subject TEXT NOT NULL,
    occurred_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS interaction_parties (
    interaction_uuid TEXT NOT NULL
        REFERENCES interactions (uuid) ON DELETE CASCADE,
    contact_uuid TEXT REFERENCES contacts (uuid),
    raw_name TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS interactions_by_subject
    ON interactions (contact_uuid, occurred_at);
CREATE INDEX IF NOT EXISTS parties_by_contact
    ON interaction_parties (contact_uuid);
CREATE INDEX IF NOT EXISTS parties_by_interaction
    ON interaction_parties (interaction_uuid);
"""


class InputError(ValueError):
    """Input refused, naming the field at fault ("parties[1].raw_name");
    nothing was written."""

    def __init__(self, field_name: Optional[str], message: str):
        super().__init__(f"{field_name}: {message}" if field_name else message)
        self.field = field_name
        self.message = message


@dataclass
class Contact:
    uuid: str
    name: str
    interactions: int = 0	# in its feed (subject or party)


@dataclass
class Party:
    contact_uuid: Optional[str]	# None: a free-text party
    raw_name: str
    name: Optional[str] = None	# the contact's current name


@dataclass
class Interaction:
    """An interaction as stored; crmpubsub.involved_contact_uuids takes it
    as it is (uuid, contact_uuid, parties[].contact_uuid)."""
    uuid: str
    contact_uuid: str
    subject: str
    occurred_at: str
    subject_name: str = ""
    parties: list = field(default_factory=list)


@dataclass
class NewInteraction:
    """A checked request body: what a create or a replace writes."""
    contact_uuid: str
    subject: str
    parties: list	# [(contact_uuid or None, raw_name or None)]
    occurred_at: Optional[str] = None


def utc_stamp(when: Optional[datetime.datetime] = None) -> str:
    """when (default: now) as the stored form, sortable as text:
    2025-03-04T05:06:07.000008Z."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")


class Store:
    """The database file at path, created with its schema if need be."""

    def __init__(self, path: str):
        self.path = path
        with contextlib.closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        """A new connection: autocommit mode (transactions are explicit),
        foreign keys on, waiting up to 5 s for another writer."""
        db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
        db.execute("PRAGMA foreign_keys = ON")
        return db

    @contextlib.contextmanager
    def _write(self):
        """A write transaction: committed when the block ends, rolled back
        when it raises."""
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    @contextlib.contextmanager
    def _read(self):
        """A read-only snapshot (one transaction, so a feed and its
        parties agree)."""
        db = self._connect()
        try:
            db.execute("BEGIN")
            yield db
        finally:
            db.close()

    # --- contacts -----------------------------------------------------------

    def contacts(self) -> list:
        """Every contact by name, with the size of its feed."""
        with self._read() as db:
            rows = db.execute(
                "SELECT c.uuid, c.name, (SELECT count(*) FROM interactions i"
                " WHERE i.contact_uuid = c.uuid OR i.uuid IN"
                " (SELECT interaction_uuid FROM interaction_parties p"
                "  WHERE p.contact_uuid = c.uuid))"
                " FROM contacts c ORDER BY c.name COLLATE NOCASE, c.uuid")
            return [Contact(*r) for r in rows]

    def contact(self, contact_uuid: str) -> Optional[Contact]:
        """The contact, or None."""
        with self._read() as db:
            r = db.execute("SELECT uuid, name FROM contacts WHERE uuid = ?",
                           (contact_uuid,)).fetchone()
            return Contact(*r) if r else None

    def add_contact(self, name: str) -> str:
        """Adds a contact; its new UUID."""
        new = str(uuidlib.uuid4())
        with self._write() as db:
            db.execute("INSERT INTO contacts (uuid, name) VALUES (?, ?)",
                       (new, name))
        return new

    # --- interactions -------------------------------------------------------

    def feed(self, contact_uuid: str, limit: int = FEED_LIMIT) -> list:
        """The contact's interactions (subject or party), newest first."""
        with self._read() as db:
            rows = db.execute(
                "SELECT i.uuid, i.contact_uuid, i.subject, i.occurred_at,"
                " c.name FROM interactions i"
                " JOIN contacts c ON c.uuid = i.contact_uuid"
                " WHERE i.contact_uuid = ?1 OR i.uuid IN"
                " (SELECT interaction_uuid FROM interaction_parties"
                "  WHERE contact_uuid = ?1)"
                " ORDER BY i.occurred_at DESC, i.rowid DESC LIMIT ?2",
                (contact_uuid, limit)).fetchall()
            return self._with_parties(db, rows)

    def interaction(self, interaction_uuid: str) -> Optional[Interaction]:
        """One interaction with its parties, or None."""
        with self._read() as db:
            return self._load(db, interaction_uuid)

    def add_interaction(self, new: NewInteraction) -> Interaction:
        """Writes a new interaction; it, as stored."""
        iu = str(uuidlib.uuid4())
        with self._write() as db:
            parties = self._check_contacts(db, new)
            db.execute("INSERT INTO interactions (uuid, contact_uuid,"
                       " subject, occurred_at) VALUES (?, ?, ?, ?)",
                       (iu, new.contact_uuid, new.subject,
                        new.occurred_at or utc_stamp()))
            self._insert_parties(db, iu, parties)
            return self._load(db, iu)

    def replace_interaction(self, interaction_uuid: str, new: NewInteraction):
        """Replaces the subject contact, text and parties (occurred_at too
        when given): (old, new) as stored, or None when there is no such
        interaction."""
        with self._write() as db:
            old = self._load(db, interaction_uuid)
            if old is None:
                return None
            parties = self._check_contacts(db, new)
            db.execute("UPDATE interactions SET contact_uuid = ?, subject = ?,"
                       " occurred_at = ? WHERE uuid = ?",
                       (new.contact_uuid, new.subject,
                        new.occurred_at or old.occurred_at, interaction_uuid))
            db.execute("DELETE FROM interaction_parties"
                       " WHERE interaction_uuid = ?", (interaction_uuid,))
            self._insert_parties(db, interaction_uuid, parties)
            return old, self._load(db, interaction_uuid)

    def delete_interaction(self, interaction_uuid: str):
        """Deletes it (parties go with it): what it was, or None."""
        with self._write() as db:
            old = self._load(db, interaction_uuid)
            if old is not None:
                db.execute("DELETE FROM interactions WHERE uuid = ?",
                           (interaction_uuid,))
            return old

    # --- helpers ------------------------------------------------------------

    @staticmethod
    def _check_contacts(db, new: NewInteraction) -> list:
        """The parties to insert, (contact_uuid, raw_name), after checking
        inside the write's transaction that every contact named exists; a
        contact party without raw_name takes the contact's name."""
        names = {}
        wanted = [("contact_uuid", new.contact_uuid)] + [
            (f"parties[{i}].contact_uuid", cu)
            for i, (cu, _) in enumerate(new.parties) if cu is not None]
        for where, cu in wanted:
            r = db.execute("SELECT name FROM contacts WHERE uuid = ?",
                           (cu,)).fetchone()
            if r is None:
                raise InputError(where, f"no contact {cu}")
            names[cu] = r[0]
        return [(cu, raw if raw is not None else names[cu])
                for cu, raw in new.parties]

    @staticmethod
    def _insert_parties(db, interaction_uuid: str, parties: list) -> None:
        """Inserts the parties, keeping their order (rowid)."""
        db.executemany("INSERT INTO interaction_parties (interaction_uuid,"
                       " contact_uuid, raw_name) VALUES (?, ?, ?)",
                       [(interaction_uuid, cu, raw) for cu, raw in parties])

    def _load(self, db, interaction_uuid: str) -> Optional[Interaction]:
        """One interaction read through db, or None."""
        rows = db.execute(
            "SELECT i.uuid, i.contact_uuid, i.subject, i.occurred_at, c.name"
            " FROM interactions i JOIN contacts c ON c.uuid = i.contact_uuid"
            " WHERE i.uuid = ?", (interaction_uuid,)).fetchall()
        found = self._with_parties(db, rows)
        return found[0] if found else None

    @staticmethod
    def _with_parties(db, rows) -> list:
        """Interactions from (uuid, contact_uuid, subject, occurred_at,
        subject name) rows, each with its parties in order."""
        out = [Interaction(u, cu, s, at, name) for u, cu, s, at, name in rows]
        by_uuid = {i.uuid: i for i in out}
        if by_uuid:
            for iu, cu, raw, name in db.execute(
                    "SELECT p.interaction_uuid, p.contact_uuid, p.raw_name,"
                    " c.name FROM interaction_parties p"
                    " LEFT JOIN contacts c ON c.uuid = p.contact_uuid"
                    " WHERE p.interaction_uuid IN"
                    " (SELECT value FROM json_each(?)) ORDER BY p.rowid",
                    (json.dumps(list(by_uuid)),)):
                by_uuid[iu].parties.append(Party(cu, raw, name))
        return out
