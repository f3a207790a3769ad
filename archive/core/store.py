"""The store: SQLAlchemy Core tables, the engine, transactions and gap-free counters.

The embedded default is a SQLite file in the workspace; PostgreSQL (``postgresql+psycopg://``
URLs, psycopg 3) is the store of a centre whose windows share one server. Schema changes
are Alembic migrations in ``archive/core/migrations`` (never hand edits).

SQLite: writes run in ``BEGIN IMMEDIATE`` transactions, so two clerks issuing notices at
the same moment queue for the write lock (bounded by ``busy_timeout``) instead of failing;
readers never block thanks to WAL.

PostgreSQL: transactions are READ COMMITTED. Writers run side by side, so a write that
checks something before it changes it locks the rows it checks (:func:`lock`,
``SELECT … FOR UPDATE``), and counters are taken with one ``UPDATE … RETURNING`` (the row
lock queues a second clerk until the first commits). A deadlock or serialization failure
becomes :class:`~archive.core.errors.ConflictError`, which ``session.retrying`` runs again.

Every database error leaves this module as an :class:`~archive.core.errors.ArchiveError`
with a Chinese message (:func:`translate`), never as a driver exception.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    create_engine,
    event,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from .errors import ArchiveError, ConflictError, StoreError, WorkspaceError, from_environment

BUSY_TIMEOUT_SECONDS = 60

metadata = MetaData()

items = Table(
    "items",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("unit", String(32), nullable=False, index=True),
    Column("case_type", String(32), nullable=False),
    Column("promised_days", Integer, nullable=False),
    Column("statutory_days", Integer, nullable=False),
    Column("legal_basis", Text, nullable=False),
    Column("fee", String(200), nullable=False),
    Column("delivery", String(200), nullable=False),
    Column("materials", JSON, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("pending_days", Integer),  # 补办件: working days to hand in pending materials (None: the setting)
)

calendar_years = Table(
    "calendar_years",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("source", String(200), nullable=False),
    Column("loaded_at", DateTime, nullable=False),
)

calendar_days = Table(
    "calendar_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("year", Integer, ForeignKey("calendar_years.year"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # holiday | workday
    Column("name", String(100), nullable=False),
)

STORE_GENERATION = "store:generation"  # the counters row every committed change advances

counters = Table(
    "counters",
    metadata,
    Column("scope", String(200), primary_key=True),
    Column("value", Integer, nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_no", String(64), nullable=False, unique=True),
    Column("item_code", String(64), ForeignKey("items.code"), nullable=False),
    Column("unit", String(32), nullable=False, index=True),
    Column("case_type", String(32), nullable=False),
    Column("applicant", JSON, nullable=False),
    Column("status", String(32), nullable=False, index=True),
    Column("materials", JSON, nullable=False),  # received material codes
    Column("defects", JSON, nullable=False),  # {code: problem}
    Column("missing", JSON, nullable=False),  # material codes still missing
    Column("received_on", Date, nullable=False, index=True),
    Column("check_due_on", Date),  # end of the 5-working-day supplement window
    Column("accepted_on", Date),
    Column("deemed_accepted", Boolean, nullable=False, default=False),
    Column("due_on", Date, index=True),
    Column("promised_days", Integer, nullable=False),
    Column("statutory_days", Integer, nullable=False),
    Column("paused_on", Date),
    Column("paused_workdays", Integer, nullable=False, default=0),
    Column("extended_days", Integer, nullable=False, default=0),
    Column("decision", String(32)),
    Column("decision_reason", Text),
    Column("concluded_on", Date),
    Column("sealed_at", DateTime),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("pending_due", JSON),  # 补办件: {material code: ISO date it is due}, still owed or not
    Column("pause_expected_days", Integer),  # the excluded-time notice's expected working days
    Column("approver", String(100)),  # who approved the conclusion (办结审批单)
    Column("approved_on", Date),
    # The window clerk who received the case: the operator of its receive event, copied
    # by a store trigger (migration 0005) so supervision groups by clerk without a join.
    Column("clerk", String(100)),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), index=True),
    Column("subject", String(100), nullable=False, index=True),  # e.g. case number, card number
    Column("action", String(50), nullable=False),
    Column("operator", String(100), nullable=False),
    Column("at", DateTime, nullable=False),  # when it was entered (the centre's time zone)
    Column("detail", JSON, nullable=False),
    Column("effective_on", Date),  # the date it takes effect, for an action entered later
)

# A clerk's request to extend a case's limit (art. 42), decided by a unit head in their own
# session; a head's own request is approved at once (requested_by == decided_by).
extension_requests = Table(
    "extension_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("days", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False, index=True),  # pending | approved | refused | lapsed
    Column("requested_on", Date, nullable=False),
    Column("requested_at", DateTime, nullable=False),
    Column("requested_by", String(100), nullable=False),
    Column("decided_on", Date),
    Column("decided_at", DateTime),
    Column("decided_by", String(100)),
    Column("refusal", Text),  # why a head refused
)

appointments = Table(
    "appointments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("card_no", String(64), nullable=False, unique=True),
    Column("unit", String(32), nullable=False),
    Column("visitor", JSON, nullable=False),
    Column("with_whom", String(200), nullable=False),
    Column("starts_at", DateTime, nullable=False, index=True),
    Column("time_slot", String(50), nullable=False),
    Column("place", String(200), nullable=False),
    Column("matter", Text, nullable=False),
    Column("materials_to_bring", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # booked | cancelled
    Column("cancel_reason", Text),
    Column("created_at", DateTime, nullable=False),
)

notices = Table(
    "notices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("unit", String(32), nullable=False),
    Column("year", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("number", String(100), nullable=False),
    Column("check_code", String(16), nullable=False),
    Column("case_id", Integer, ForeignKey("cases.id"), index=True),
    Column("appointment_id", Integer, ForeignKey("appointments.id")),
    Column("subject", String(100), index=True),  # case number, card number or loan number
    Column("reprint_of", Integer, ForeignKey("notices.id")),
    Column("reprint_no", Integer, nullable=False, default=0),
    Column("path", String(500), nullable=False, unique=True),
    Column("sha256", String(64), nullable=False),
    Column("pdf_path", String(500)),
    Column("pdf_sha256", String(64)),
    Column("context", JSON, nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("issued_at", DateTime, nullable=False),
    Column("operator", String(100), nullable=False),
    UniqueConstraint("unit", "kind", "year", "seq", "reprint_no", name="uq_notice_seq"),
)


# -- the archive (filing, catalogues, fixity, disposal) -----------------------------------

attachments = Table(
    "attachments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("title", String(200), nullable=False),
    Column("kind", String(16), nullable=False),  # pdf | image
    Column("original_name", String(300), nullable=False),
    Column("path", String(500), nullable=False, unique=True),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("pages", Integer, nullable=False),
    Column("has_text", Boolean, nullable=False, default=True),
    Column("added_at", DateTime, nullable=False),
    Column("operator", String(100), nullable=False),
)

volumes = Table(
    "volumes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("archival_code", String(100), nullable=False, unique=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, unique=True),
    Column("fonds", String(32), nullable=False),
    Column("classification", String(32), nullable=False, index=True),
    Column("year", Integer, nullable=False, index=True),
    Column("retention", String(8), nullable=False),  # Y | D30 | D10
    Column("catalogue", Integer, nullable=False),
    Column("volume_no", Integer, nullable=False),
    Column("title", String(500), nullable=False),
    Column("unit", String(32), nullable=False, index=True),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("items_count", Integer, nullable=False),
    Column("pages", Integer, nullable=False),
    Column("access", String(16), nullable=False, default="开放"),  # 开放 | 控制 | 延期开放 | 未审核
    Column("security_level", String(16)),  # None, or 秘密 | 机密 | 绝密
    Column("state", String(16), nullable=False, default="on_shelf"),  # on_shelf | on_loan | flagged | destroying | destroyed
    Column("folder", String(500), nullable=False),
    Column("merged_pdf", String(500)),
    Column("merged_sha256", String(64)),
    Column("filed_at", DateTime, nullable=False),
    Column("filed_by", String(100), nullable=False),
    Column("checker", String(100)),  # 检查人 on the notes sheet
    Column("destroyed_at", DateTime),
    Column("destroyed_by", String(100)),
    Column("destruction_list_id", Integer, ForeignKey("destruction_lists.id")),
    UniqueConstraint("fonds", "classification", "year", "retention", "catalogue", "volume_no", name="uq_volume_no"),
)

volume_items = Table(
    "volume_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("volume_id", Integer, ForeignKey("volumes.id"), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("title", String(500), nullable=False),
    Column("doc_number", String(100)),  # 文号
    Column("responsible", String(200), nullable=False),  # 责任者
    Column("date", Date, nullable=False),
    Column("pages", Integer, nullable=False),
    Column("page_start", Integer, nullable=False),
    Column("role", String(16), nullable=False),  # item | form | superseded (an earlier version of a form)
    # item: application_record | attachment | notice | decision_record;
    # form: volume_cover | item_list | notes_sheet | merged_pdf
    Column("kind", String(32), nullable=False),
    Column("path", String(500), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    UniqueConstraint("volume_id", "role", "number", name="uq_volume_item"),
)

volume_notes = Table(
    "volume_notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("volume_id", Integer, ForeignKey("volumes.id"), nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("kind", String(32), nullable=False, default="note"),  # note | return | inspection
    Column("at", DateTime, nullable=False),
    Column("operator", String(100), nullable=False),
)

verifications = Table(
    "verifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime, nullable=False),
    Column("operator", String(100), nullable=False),
    Column("scope", JSON, nullable=False),  # archival codes, or [] for all
    Column("checked", Integer, nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("problems", JSON, nullable=False),
)

destruction_lists = Table(
    "destruction_lists",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("as_of", Date, nullable=False),
    Column("status", String(16), nullable=False),  # draft | executing (files going) | executed
    Column("volume_ids", JSON, nullable=False),
    Column("path", String(500)),
    Column("sha256", String(64)),
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("approver", String(100)),
    Column("witnesses", JSON),
    Column("method", String(100)),
    Column("executed_at", DateTime),
    Column("executed_by", String(100)),
    Column("executed_path", String(500)),  # the list as executed, with approver and witnesses
    Column("executed_sha256", String(64)),
    Column("appraisers", JSON),  # 鉴定小组成员
    Column("reviewer", String(100)),  # the archive's head who reviewed the list
    Column("pdf_path", String(500)),  # PDF renditions of the draft and the executed list
    Column("executed_pdf_path", String(500)),
    # The approval and the witnesses are accounts acting for themselves (migration 0009):
    # the approver approves in their own session, each witness confirms in theirs.
    Column("approved_by", String(100)),
    Column("approved_at", DateTime),
)

destruction_witnesses = Table(
    "destruction_witnesses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("list_id", Integer, ForeignKey("destruction_lists.id"), nullable=False, index=True),
    Column("account", String(100), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("client", String(64), nullable=False),
    UniqueConstraint("list_id", "account", name="uq_destruction_witness"),
)

# A change of a volume's access status (开放标识) or security level (密级): proposed by one
# account, approved or refused by another holding ``access.change``.
access_changes = Table(
    "access_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("volume_id", Integer, ForeignKey("volumes.id"), nullable=False, index=True),
    Column("access", String(16), nullable=False),
    Column("security_level", String(16)),
    Column("previous_access", String(16), nullable=False),
    Column("previous_security_level", String(16)),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | approved | refused
    Column("requested_at", DateTime, nullable=False),
    Column("requested_by", String(100), nullable=False),
    Column("decided_at", DateTime),
    Column("decided_by", String(100)),
    Column("decision_note", Text),
)


# -- lending (borrowers, loans, reminders, copies) ----------------------------------------

borrowers = Table(
    "borrowers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),  # 借阅证号, e.g. JZ0001
    Column("name", String(100), nullable=False),
    Column("unit", String(200), nullable=False),
    Column("type", String(16), nullable=False),  # internal | agency | public
    Column("id_number", String(18), nullable=False, unique=True),
    Column("phone", String(32), nullable=False),
    Column("role", String(32), nullable=False),  # a role of archive.core.access
    # The account of a borrower who uses the reader's pages (migration 0009); NULL for others.
    Column("account", String(50)),
    Column("blocked", Boolean, nullable=False, default=False),
    Column("blocked_reason", Text),
    Column("blocked_at", DateTime),
    Column("blocked_by", String(100)),
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(100), nullable=False),
    UniqueConstraint("account", name="uq_borrowers_account"),
)

loans = Table(
    "loans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(64), nullable=False, unique=True),  # 借阅单号
    Column("volume_id", Integer, ForeignKey("volumes.id"), nullable=False, index=True),
    Column("borrower_id", Integer, ForeignKey("borrowers.id"), nullable=False),
    # The volume's id while it is out, NULL once it is back: a unique key, so the store
    # itself refuses a second open loan of one volume whatever the code above it does.
    Column("open_volume_id", Integer, unique=True),
    Column("mode", String(16), nullable=False),  # read | excerpt | copy | loan
    Column("purpose", String(16), nullable=False),  # one of archive.lending.loans.PURPOSES
    Column("rules", JSON, nullable=False),  # ids of the rules that decided, per field
    Column("approval_needed", String(16), nullable=False),  # none | head-in-charge | principal-head
    Column("approved_by", String(100)),
    Column("approver_level", String(16)),
    Column("lent_on", Date, nullable=False, index=True),
    Column("due_on", Date, nullable=False),
    Column("renewals", JSON, nullable=False),  # [{on, due_on, approved_by, approver_level}]
    Column("returned_on", Date),
    Column("pages_expected", Integer),
    Column("pages_counted", Integer),
    Column("condition", Text),
    Column("discrepancy", Text),
    Column("late_days", Integer),
    Column("effect", Text),  # 利用效果
    Column("reminder_level", Integer, nullable=False, default=0),  # 0 none, 1 first, 2 second, 3 final
    Column("reminded_on", Date),
    Column("lent_at", DateTime, nullable=False),
    Column("lent_by", String(100), nullable=False),
    Column("returned_at", DateTime),
    Column("returned_by", String(100)),
    # Open loans by due date (the overdue scan), and a borrower's open loans.
    Index("ix_loans_open_due", "returned_on", "due_on"),
    Index("ix_loans_borrower_open", "borrower_id", "returned_on"),
)

reminders = Table(
    "reminders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("loan_id", Integer, ForeignKey("loans.id"), nullable=False),
    Column("level", Integer, nullable=False),  # 1 first | 2 second | 3 final
    Column("days_overdue", Integer, nullable=False),
    Column("notice_id", Integer, ForeignKey("notices.id"), nullable=False),
    Column("number", String(100), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("issued_at", DateTime, nullable=False),
    Column("operator", String(100), nullable=False),
    UniqueConstraint("loan_id", "level", name="uq_reminder_level"),
)

# A request to use a volume (or to renew a loan) that waits for a head's approval: made by a
# reader from the search page or by the lending desk; decided by an account holding
# ``lending.approve``; used by the loan it allowed (migration 0009).
loan_requests = Table(
    "loan_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(64), nullable=False, unique=True),  # 申请单号, e.g. SQ202600001
    Column("kind", String(16), nullable=False),  # lend | renew
    Column("volume_id", Integer, ForeignKey("volumes.id"), nullable=False, index=True),
    Column("borrower_id", Integer, ForeignKey("borrowers.id"), nullable=False, index=True),
    Column("loan_id", Integer, ForeignKey("loans.id")),  # the loan to renew, or the loan made
    Column("mode", String(16), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("approval_needed", String(16), nullable=False),  # head-in-charge | principal-head | none
    Column("note", Text),
    Column("status", String(16), nullable=False, index=True),  # pending | approved | refused | used
    Column("requested_at", DateTime, nullable=False),
    Column("requested_by", String(100), nullable=False),
    Column("decided_at", DateTime),
    Column("decided_by", String(100)),
    Column("approver_level", String(16)),
    Column("decision_note", Text),
)

copies = Table(
    "copies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(80), nullable=False, unique=True),  # loan number + -FZ<n>
    Column("loan_id", Integer, ForeignKey("loans.id"), nullable=False, index=True),
    Column("pages", JSON, nullable=False),  # page numbers of the volume, 1-based
    Column("certified", Boolean, nullable=False, default=False),
    Column("approved_by", String(100)),
    Column("approver_level", String(16)),
    Column("path", String(500), nullable=False, unique=True),
    Column("sha256", String(64), nullable=False),
    Column("made_on", Date, nullable=False),
    Column("made_at", DateTime, nullable=False),
    Column("operator", String(100), nullable=False),
)


# -- the change log and the store's leases (archive.core.changelog) ------------------------

change_log = Table(
    "change_log",
    metadata,
    # The store generation the commit made: gap-free and in commit order (see changelog).
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("committed_at", DateTime, nullable=False),
    Column("changes", JSON, nullable=False),  # [[kind, key], …]: ("case", case number), ("volume", archival code)
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),  # e.g. search-indexer
    Column("holder", String(200)),  # host:pid:random of the process holding it, NULL when free
    Column("expires_at", Float, nullable=False),  # seconds since the epoch; a lease not renewed lapses
    Column("acquired_at", DateTime),
)

# -- accounts, web sessions and the audit trail (core/accounts.py, core/audit.py) ----------

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False, unique=True),
    Column("role", String(32), nullable=False),
    Column("units", JSON, nullable=False),  # unit codes the account works for; [] = every unit
    Column("fonds", JSON, nullable=False),  # fonds codes; [] = every fonds
    Column("password_hash", String(255), nullable=False),
    Column("must_change", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("locked_until", DateTime),
    Column("password_changed_at", DateTime, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # SHA-256 of the cookie value
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("client", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("seen_at", DateTime, nullable=False),
)

# Long work started from a page or the API (filing with PDF, verify, catalogue export,
# reindex): a record any server worker can report on, run by the process that took it.
jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("params", JSON, nullable=False),
    Column("account", String(100), nullable=False),
    Column("status", String(16), nullable=False),  # queued | running | done | failed
    Column("done", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("label", String(200), nullable=False),
    Column("result", JSON),
    Column("error", JSON),
    Column("pid", Integer),
    Column("created_at", DateTime, nullable=False),
    Column("started_at", DateTime),
    Column("finished_at", DateTime),
    Index("ix_jobs_account", "account", "created_at"),
)

AUDIT_CHAIN = "audit:chain"  # the counter that numbers audit entries (its value = the last seq)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),  # ISO 8601 with the centre's UTC offset when known
    Column("actor", String(100), nullable=False),
    Column("role", String(32), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("outcome", String(16), nullable=False),  # ok | denied | failed
    Column("client", String(64), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_log_actor", "actor"),
)
# -- supervision (ratings, rectifications, red cards) -------------------------------------

ratings = Table(
    "ratings",
    metadata,
    Column("id", Integer, primary_key=True),
    # One rating per case, never edited: the store refuses a second row and (by triggers,
    # see migration 0005) any UPDATE or DELETE.
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, unique=True),
    Column("case_no", String(64), nullable=False),
    Column("unit", String(32), nullable=False, index=True),
    Column("item_code", String(64), nullable=False),
    Column("clerk", String(100), nullable=False),  # who received the case
    Column("level", Integer, nullable=False),  # 5 非常满意 … 1 非常不满意
    Column("overall", Integer, nullable=False),  # sub-scores 1–5: 整体满意度
    Column("efficiency", Integer, nullable=False),  # 服务效率
    Column("quality", Integer, nullable=False),  # 服务水平
    Column("attitude", Integer, nullable=False),  # 服务态度
    Column("comment", Text),
    Column("source", String(16), nullable=False),  # device | web | phone
    Column("rated_on", Date, nullable=False, index=True),
    Column("recorded_at", DateTime, nullable=False),
    Column("operator", String(100), nullable=False),
)

rectifications = Table(
    "rectifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rating_id", Integer, ForeignKey("ratings.id"), nullable=False, unique=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("case_no", String(64), nullable=False),
    Column("unit", String(32), nullable=False, index=True),
    Column("item_code", String(64), nullable=False),
    Column("clerk", String(100), nullable=False),
    Column("opened_on", Date, nullable=False),
    Column("due_on", Date, nullable=False, index=True),
    Column("followed_up_on", Date),
    Column("follow_up", Text),  # what the call back found
    Column("followed_up_by", String(100)),
    Column("rectified_on", Date),
    Column("rectified", Text),  # what was put right
    Column("rectified_by", String(100)),
)

red_cards = Table(
    "red_cards",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),  # case (limit missed) | rectification (not put right in time)
    # (no foreign key: cases are never deleted, and on PostgreSQL its check locked the case's
    # row for every card written, most of the time a month's cards took; migration 0014)
    Column("case_id", Integer, nullable=False),
    Column("case_no", String(64), nullable=False),
    Column("unit", String(32), nullable=False, index=True),
    Column("item_code", String(64), nullable=False),
    Column("clerk", String(100), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("raised_on", Date, nullable=False, index=True),  # the first day past due_on
    Column("days_over", Integer, nullable=False),  # working days past due_on, as last seen
    Column("closed_on", Date),  # concluded or put right (the card stays on record)
    Column("recorded_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("kind", "case_id", name="uq_red_card"),
)

# Supervision's facts, kept with every case write (archive.supervision.ledger): what each
# case adds to the figures of the day it happened, and those additions summed per day.
FACT_VALUES = ("received", "accepted", "not_accepted", "concluded", "denied", "on_the_spot", "on_time",
                "promised_concluded", "early", "overdue_concluded", "overdue_workdays", "workdays_used",
                "promised_days", "statutory_days", "deemed_accepted")
case_facts = Table(
    "case_facts",
    metadata,
    Column("case_id", Integer, ForeignKey("cases.id"), primary_key=True),
    Column("unit", String(32), nullable=False),
    Column("item_code", String(64), nullable=False),
    Column("clerk", String(100), nullable=False),
    Column("received_on", Date, nullable=False),
    Column("accepted_on", Date),
    Column("concluded_on", Date),  # concluded or refused: the day its outcome counts
    Column("deemed_on", Date),  # a recorded deemed acceptance: the end of its supplement window
    *(Column(name, Integer, nullable=False, default=0) for name in FACT_VALUES if name not in
      ("received", "accepted", "deemed_accepted")),
    Column("exact", Boolean, nullable=False),  # False: a day outside the loaded calendar
)
# Summed per day beside the cases' facts (migration 0011): ratings given (by level, and the
# sums of the four sub-scores), kept as ratings are recorded — they are never edited or
# deleted. (Red cards are counted from their own table: migration 0013.)
RECORD_VALUES = ("ratings", "level_5", "level_4", "level_3", "level_2", "level_1", "overall", "efficiency",
                 "quality", "attitude")
DAY_VALUES = FACT_VALUES + RECORD_VALUES
case_days = Table(
    "case_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("unit", String(32), primary_key=True),
    Column("item_code", String(64), primary_key=True),
    Column("clerk", String(100), primary_key=True),
    *(Column(name, Integer, nullable=False, default=0) for name in FACT_VALUES),
    *(Column(name, Integer, nullable=False, default=0, server_default="0") for name in RECORD_VALUES),
)
# The same sums per calendar month (``month``: its first day), so a report of whole months
# reads one row per unit, item and clerk and month instead of one per day (migration 0011).
case_months = Table(
    "case_months",
    metadata,
    Column("month", Date, primary_key=True),
    Column("unit", String(32), primary_key=True),
    Column("item_code", String(64), primary_key=True),
    Column("clerk", String(100), primary_key=True),
    *(Column(name, Integer, nullable=False, default=0) for name in DAY_VALUES),
)
# Each case's pauses (art. 45) as intervals, from its pause and resume events, with the case's
# key and dates (migration 0011): recounted with the case's facts whenever the case is written.
case_pauses = Table(
    "case_pauses",
    metadata,
    Column("case_id", Integer, ForeignKey("cases.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),  # the pause's place among the case's pauses
    Column("unit", String(32), nullable=False),
    Column("item_code", String(64), nullable=False),
    Column("clerk", String(100), nullable=False),
    Column("received_on", Date, nullable=False),
    Column("concluded_on", Date),
    Column("paused_on", Date, nullable=False),
    Column("resumed_on", Date),  # None: still paused
)
# The few facts a calendar did not cover (the report then counts from the cases themselves).
Index("ix_case_facts_inexact", case_facts.c.exact, sqlite_where=case_facts.c.exact.is_(False),
      postgresql_where=case_facts.c.exact.is_(False))
# Cases not concluded by a day: the open cases a report judges on its as-of day.
Index("ix_cases_concluded_on", cases.c.concluded_on)

# Events by action: the pause and resume events of supervision, a case's receive event.
Index("ix_events_action_case", events.c.action, events.c.case_id)
# Notices of a kind issued in a period (supplement notices per case).
Index("ix_notices_kind_issued", notices.c.kind, notices.c.issued_on)
# Cases concluded after their due date (the red cards' sweep): a partial index, a few per cent of cases.
Index("ix_cases_concluded_late", cases.c.concluded_on, sqlite_where=cases.c.concluded_on > cases.c.due_on,
      postgresql_where=cases.c.concluded_on > cases.c.due_on)


SYNCHRONOUS = ("normal", "full")


def make_engine(url: str, *, synchronous: str = "normal") -> Engine:
    """An engine; for SQLite: WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE on writes.

    ``synchronous`` is SQLite's durability setting in WAL mode: ``normal`` never corrupts
    the database but may lose the last commits on a power cut; ``full`` syncs every commit
    (about half the write throughput on these machines).
    """
    if synchronous not in SYNCHRONOUS:
        raise ValueError(synchronous)
    url = normalise_url(url)
    if not url.startswith("sqlite"):
        return _postgresql_engine(url)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})
    engine.dialect.statement_compiler = _sqlite_hinting_compiler()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit transactions are off).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = "IMMEDIATE" if conn.get_execution_options().get("write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _sqlite_hinting_compiler():
    """SQLite's statement compiler, rendering a query's table hints (``select.with_hint(table,
    "INDEXED BY ix_…", "sqlite")``) after the table's name, as SQLite writes them: SQLAlchemy's
    own SQLite compiler drops them."""
    from sqlalchemy.dialects.sqlite.base import SQLiteCompiler

    class HintingCompiler(SQLiteCompiler):
        def get_from_hint_text(self, table, text):
            return text

    return HintingCompiler


# A pooled PostgreSQL connection that waited in the pool longer than this is pinged before
# use (a restarted server or a dropped network leaves it dead; the ping finds that and the pool
# connects again). One checked in moments ago is used as it is: a ping is a round trip, and
# pinging at every checkout (``pool_pre_ping``) cost two round trips of client CPU per receive.
PING_AFTER_IDLE_SECONDS = 2.0


def _postgresql_engine(url: str, isolation_level: str = "READ COMMITTED") -> Engine:
    """``isolation_level``: READ COMMITTED (PostgreSQL's default, said explicitly) for writes,
    so that a clerk waiting for a counter row sees the number the first clerk committed
    instead of failing (see next_number); AUTOCOMMIT for the engine of reads."""
    from sqlalchemy.exc import DisconnectionError

    engine = create_engine(url, isolation_level=isolation_level,
                           connect_args={"connect_timeout": 10, "application_name": "archive"})

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return  # a new connection, or one in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - any failure means the connection is gone
            # The pool drops this connection and checks out a new one.
            raise DisconnectionError(str(exc)) from exc

    return engine


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean the psycopg 3 driver (SQLAlchemy would pick psycopg2)."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


def is_postgresql(url: str) -> bool:
    return normalise_url(url).startswith("postgresql")


def shown_url(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is shown as typed
        return url


class Store:
    """The database of one workspace."""

    def __init__(self, url: str, *, synchronous: str = "normal"):
        self.url = normalise_url(url)
        try:
            self.engine = make_engine(self.url, synchronous=synchronous)
        except ArchiveError:
            raise
        except Exception as exc:  # noqa: BLE001 - a bad URL or a missing driver
            raise WorkspaceError(f"数据库地址无效：{shown_url(url)}（{exc}）", field="database_url",
                                 hint="地址形如 sqlite:////路径/archive.db 或 postgresql+psycopg://用户@主机/库名") from None
        # SQLite has one writer at a time and makes the others poll for the lock with growing
        # sleeps, which starves some of them when many threads write (a server's clerks).
        # Threads of one process queue here instead; other processes still meet busy_timeout.
        self._writers = threading.RLock() if self.url.startswith("sqlite") else None
        # PostgreSQL: reads use connections of their own in autocommit, one round trip for a
        # statement instead of three (BEGIN, the statement, COMMIT). Nothing is lost: under READ
        # COMMITTED each statement of a transaction took a snapshot of its own anyway.
        self.read_engine = self.engine if self._writers else _postgresql_engine(self.url, "AUTOCOMMIT")

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def write(self):
        """A write transaction: all or nothing, serialised against other writers."""
        with self._writers or contextlib.nullcontext(), self._translated():
            with self.engine.connect().execution_options(write=True) as conn:
                with conn.begin():
                    yield conn

    @contextlib.contextmanager
    def read(self):
        """Reads: on PostgreSQL each statement sees what was committed when it began (as
        under READ COMMITTED); on SQLite the whole block sees one snapshot."""
        with self._translated():
            with self.read_engine.connect() as conn:
                with conn.begin():
                    yield conn

    def _translated(self):
        return translated(self.url)

    def dispose(self) -> None:
        self.engine.dispose()
        self.read_engine.dispose()


# -- errors -------------------------------------------------------------------------------

# PostgreSQL SQLSTATEs worth running the whole unit of work again for.
RETRYABLE = {"40001": "串行化冲突", "40P01": "死锁", "55P03": "锁等待超时"}


def translate(exc: DBAPIError, url: str = "") -> ArchiveError | None:
    """A driver error as an ArchiveError with a Chinese message; None for an error that is a
    fault of the program rather than of the database or the machine."""
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "diag", None), "sqlstate", None)
    detail = str(orig or exc).strip().splitlines()[0] if str(orig or exc).strip() else type(exc).__name__
    if sqlstate in RETRYABLE:
        return ConflictError(f"与其他用户同时修改了相同的记录（数据库报告{RETRYABLE[sqlstate]}），本次操作未生效",
                             field="database", hint="请重试；系统已自动重试过")
    text_ = detail.lower()
    if "database is locked" in text_ or "database is busy" in text_:
        return StoreError(f"数据库被其他操作占用超过{BUSY_TIMEOUT_SECONDS}秒，本次操作未生效", field="database",
                          hint="稍后重试；如持续出现，请检查是否有卡住的 archive 进程")
    if sqlstate == "3D000" or "does not exist" in text_ and "database" in text_:
        return WorkspaceError(f"数据库不存在：{shown_url(url)}", field="database_url",
                              hint="先运行 archive init --db 该地址 建立数据库")
    if (sqlstate or "").startswith("08") or exc.connection_invalidated or "connection" in text_ and (
            "refused" in text_ or "failed" in text_ or "closed" in text_ or "timeout" in text_):
        return StoreError(f"无法连接数据库 {shown_url(url)}：{detail}", field="database",
                          hint="检查数据库服务是否在运行、地址和权限是否正确（配置项 database_url 或 ARCHIVE_DB_URL）")
    fault = from_environment(exc)  # a full disk, a damaged or read-only database file
    if fault is not None:
        return fault
    if (sqlstate or "").startswith("23") or type(exc).__name__ == "IntegrityError":
        return StoreError(f"数据库拒绝了这次写入（与已有记录冲突，可能是其他用户刚办理了同一事项）：{detail}",
                          field="database", hint="刷新后核对，再重试")
    program_fault = "no such table" in text_ or "no such column" in text_ or "syntax error" in text_
    if isinstance(exc, OperationalError) and not program_fault:  # (SQLite says both kinds so)
        return StoreError(f"数据库出错：{detail}", field="database")
    return None  # a fault of the program (a missing table, a bad statement): the skins' "internal error"


@contextlib.contextmanager
def translated(url: str = ""):
    """Turn the driver's errors raised inside the block into :func:`translate`'s (those it
    does not know stay as they are: the skins report them as internal errors)."""
    try:
        yield
    except DBAPIError as exc:
        error = translate(exc, url)
        if error is None:
            raise
        raise error from exc


# -- counters -------------------------------------------------------------------------------

# Built once: every write takes a number or two, and building the statement cost as much as running it.
# TAKE_NUMBER (parameters counter_scope, counter_step) is also the change log's WITH query.
TAKE_NUMBER = (update(counters).where(counters.c.scope == bindparam("counter_scope"))
                .values(value=counters.c.value + bindparam("counter_step")).returning(counters.c.value))
_READ_NUMBER = select(counters.c.value).where(counters.c.scope == bindparam("counter_scope"))
_LOCK_NUMBER = _READ_NUMBER.with_for_update()
_IF_MISSING: dict[tuple, object] = {}


def insert_if_missing(conn: Connection, table: Table, **values):
    """``INSERT … ON CONFLICT (primary key) DO NOTHING`` of one row, the values given as bind
    parameters of the same names: a second transaction inserting the same key at the same
    moment waits for the first and then does nothing, instead of failing."""
    key = (conn.dialect.name, table.name, tuple(values))
    if key not in _IF_MISSING:
        if key[0] == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        elif key[0] == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported
            raise WorkspaceError(f"不支持的数据库：{key[0]}", field="database_url")
        # (a bind parameter may not share its column's name in an INSERT's values)
        _IF_MISSING[key] = insert(table).values({name: bindparam(f"new_{name}") for name in values}) \
            .on_conflict_do_nothing(index_elements=[c.name for c in table.primary_key.columns])
    return conn.execute(_IF_MISSING[key], {f"new_{name}": value for name, value in values.items()})


def next_number(conn: Connection, scope: str, count: int = 1) -> int:
    """Take the next number of a gap-free counter inside the caller's transaction (with
    ``count``, the next ``count`` numbers at once: the last of them is returned).

    The number is consumed only if the transaction commits, so a failure half-way never
    leaves a gap. The UPDATE locks the counter's row until the commit: on PostgreSQL a
    second clerk taking the same counter waits there and then gets the next number. A new
    counter is made with ``INSERT … ON CONFLICT DO NOTHING``, so two clerks making it at
    the same moment both go on (the second waits for the first's row) instead of one
    failing on the primary key.
    """
    step = {"counter_scope": scope, "counter_step": count}
    value = conn.execute(TAKE_NUMBER, step).scalar()
    if value is not None:
        return value
    insert_if_missing(conn, counters, scope=scope, value=0)
    return conn.execute(TAKE_NUMBER, step).scalar()


def reserve_number(conn: Connection, scope: str) -> int:
    """The number :func:`next_number` will give next in this transaction, with the counter
    locked until the commit, so that no other transaction can take it meanwhile."""
    insert_if_missing(conn, counters, scope=scope, value=0)
    return conn.execute(_LOCK_NUMBER, {"counter_scope": scope}).scalar() + 1


def peek_number(conn: Connection, scope: str) -> int:
    """The number the counter would give next, without taking it (previews only)."""
    return (conn.execute(_READ_NUMBER, {"counter_scope": scope}).scalar() or 0) + 1


def lock(conn: Connection, table: Table, *where) -> list:
    """Lock the rows of ``table`` matching ``where`` until the commit (``SELECT … FOR UPDATE``,
    in primary-key order so that two writers never lock the same rows in opposite orders)
    and return them as they are now.

    A write that checks rows before changing them (is the case filed yet? is the volume on
    the shelf?) locks them first, so a second writer waits and then sees the first one's
    change. SQLite needs no row locks (its writers take turns) and SQLAlchemy leaves the
    clause out there.
    """
    key = list(table.primary_key.columns)
    return conn.execute(select(table).where(*where).order_by(*key).with_for_update()).all()


# -- many rows at once ------------------------------------------------------------------

_MANY: dict[tuple, tuple] = {}


def execute_many(conn: Connection, statement, table: Table, rows: Iterable[dict]) -> int:
    """Run an INSERT ``statement`` of ``table`` (plain, or with ON CONFLICT) for every one of
    ``rows`` (a list, or any iterable of them); how many rows there were.

    On SQLite, and on PostgreSQL for fewer than ``COPY_FROM_ROWS`` rows, one driver
    ``executemany``. On PostgreSQL from that many on, ``COPY``, fed as ``rows`` yields them:
    the server inserts (checking keys and filling indexes) while the caller computes the
    next rows, instead of after it has computed them all. ``rows`` must not read from
    ``conn`` meanwhile.

    The rows must all have the keys of the first; columns they leave out get their scalar
    default. Values are converted by each column type's own bind processor, as
    ``conn.execute`` would, but once per distinct value of a column: a store-wide sweep writes
    tens of thousands of rows sharing a few hundred dates, and SQLAlchemy's per-row parameter
    handling cost several times the driver's own work.
    """
    rows = iter(rows)
    first = list(itertools.islice(rows, COPY_FROM_ROWS if conn.dialect.name == "postgresql" else None))
    if not first:
        return 0
    given = tuple(first[0])
    key = (conn.dialect.name, statement, given)
    if key not in _MANY:
        defaults = {c.key: c.default.arg for c in table.columns
                    if c.key not in given and c.default is not None and c.default.is_scalar}
        names = (*given, *defaults)
        compiled = statement.compile(dialect=conn.dialect, column_keys=list(names))
        positional = compiled.positiontup is not None
        order = list(compiled.positiontup) if positional else list(names)
        if set(order) != set(names):  # pragma: no cover - a statement with binds of its own
            raise ValueError(f"execute_many: {statement} binds {order}, rows give {names}")
        processors = [table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for name in order]
        _MANY[key] = (str(compiled), order, processors, defaults, positional)
    sql, order, processors, defaults, positional = _MANY[key]
    converters = [_Converter(name, process, defaults) for name, process in zip(order, processors)]
    if len(first) == COPY_FROM_ROWS and conn.dialect.name == "postgresql":
        return _copy_many(conn, sql, table, order, converters, itertools.chain(first, rows))
    rows = first + list(rows)
    columns = [converter.column(rows) for converter in converters]
    params = list(zip(*columns)) if positional else [dict(zip(order, values)) for values in zip(*columns)]
    conn.exec_driver_sql(sql, params)
    return len(rows)


class _Converter:
    """One column's values made ready for the driver: the row's value (or the column's
    default) through the column type's bind processor, each distinct value converted once."""

    __slots__ = ("name", "process", "default", "memo")

    def __init__(self, name: str, process, defaults: dict):
        self.name, self.process = name, process
        self.default = (defaults[name],) if name in defaults else None
        self.memo: dict = {}

    def column(self, rows: list[dict]) -> list:
        values = [row[self.name] for row in rows] if self.default is None else [self.default[0]] * len(rows)
        if self.process is None:
            return values
        try:
            memo = {value: self.process(value) for value in set(values)}
        except TypeError:  # unhashable values (JSON): each its own
            return [self.process(value) for value in values]
        return [memo[value] for value in values]

    def value(self, row: dict):
        value = row[self.name] if self.default is None else self.default[0]
        if self.process is None:
            return value
        try:
            return self.memo[value]
        except KeyError:
            converted = self.memo[value] = self.process(value)
            return converted
        except TypeError:  # unhashable (JSON)
            return self.process(value)


# PostgreSQL: from this many rows on, execute_many sends them by COPY (a statement per row
# costs the server a parse, a bind and an execution each: half the time, measured with
# 40,000–68,000 rows on the supervision tables; below a few hundred the temporary table
# an upsert needs costs more than it saves).
COPY_FROM_ROWS = 500


def _copy_many(conn: Connection, sql: str, table: Table, names: list[str], converters: list[_Converter],
               rows: Iterator[dict]) -> int:
    """PostgreSQL: the rows of an INSERT by COPY — straight into ``table``; for an INSERT …
    ON CONFLICT into a temporary table first, then one INSERT … SELECT with the statement's own
    conflict clause (taken from its compiled ``sql``). How many rows were sent."""
    quote = conn.dialect.identifier_preparer.quote
    listed = ", ".join(quote(name) for name in names)
    target = conn.dialect.identifier_preparer.format_table(table)
    _, conflict, action = sql.partition(" ON CONFLICT ")
    cursor = conn.connection.driver_connection.cursor()
    count = 0
    try:
        into = target
        if conflict:
            into = quote(f"many_{table.name}")
            cursor.execute(f"CREATE TEMPORARY TABLE {into} AS SELECT {listed} FROM {target} WITH NO DATA")
        if all(c.process is None and c.default is None for c in converters) and len(names) > 1:
            values = operator.itemgetter(*names)  # nothing to convert: the values as they are, in C
        else:
            def values(row):
                return [converter.value(row) for converter in converters]
        with cursor.copy(f"COPY {into} ({listed}) FROM STDIN") as copy:
            for row in rows:  # (psycopg sends the rows on every 32 KB: the server works meanwhile)
                copy.write_row(values(row))
                count += 1
        if conflict:
            cursor.execute(f"INSERT INTO {target} ({listed}) SELECT {listed} FROM {into}{conflict}{action}")
            cursor.execute(f"DROP TABLE {into}")
    finally:
        cursor.close()
    return count


# -- migrations --------------------------------------------------------------------------

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()


def current_revision(store: Store) -> str | None:
    """The store's Alembic revision; None for a database without our tables."""
    from sqlalchemy import inspect

    with store.read() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(store: Store) -> None:
    """Bring the database to the newest schema with Alembic."""
    from alembic import command

    cfg = _alembic_config(store.url)
    with store._translated(), store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def create_database(url: str) -> bool:
    """Create the PostgreSQL database ``url`` names when it does not exist yet (``archive
    init --db``); True when it was created. Needs a role allowed to create databases;
    otherwise the error says what a database administrator should run."""
    from sqlalchemy.engine import make_url

    url = normalise_url(url)
    if not is_postgresql(url):
        return False
    target = make_url(url)
    name = target.database
    if not name:
        raise WorkspaceError(f"数据库地址没有写明库名：{shown_url(url)}", field="database_url")
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT",
                           connect_args={"connect_timeout": 10})
    try:
        with translated(url), engine.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
                return False
            try:
                conn.exec_driver_sql('CREATE DATABASE "%s" ENCODING \'UTF8\' TEMPLATE template0' % name.replace('"', '""'))
            except DBAPIError as exc:
                user = target.username or "当前用户"
                reason = translate(exc, url)
                raise WorkspaceError(
                    f"数据库 {name} 不存在，且无权建立它（{reason.message if reason else exc.orig or exc}）",
                    field="database_url",
                    hint=f"请数据库管理员执行：createdb -E UTF8 -O {user} {name}，然后重新运行 archive init") from None
        return True
    finally:
        engine.dispose()


def open_store(url: str, *, migrate: bool = False, synchronous: str = "normal") -> Store:
    """Open the store; with ``migrate`` bring it to the newest schema first."""
    store = Store(url, synchronous=synchronous)
    if migrate:
        upgrade(store)
    elif current_revision(store) is None:
        raise WorkspaceError("数据库尚未建立", hint="运行 archive init 建立工作区")
    return store
