"""SQLAlchemy Core tables. Version rows and their objects are insert-only (R-VER-5).

Indexes serve the hot queries (issue 2 §7): by object (blind index + time), by lineage,
by verwerkingId and by verwerkingsactiviteitId.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
SeqType = BigInteger().with_variant(Integer(), "sqlite")

versie = Table(
    "verwerkingsactie_versie",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("actie_id", String(36), nullable=False, unique=True),
    Column("lineage_id", String(36), nullable=False),
    Column("versie", Integer, nullable=False),
    Column("vervallen", Boolean, nullable=False),
    Column("tijdstip_registratie_us", BigInteger, nullable=False),
    Column("client_id", String(100)),
    Column("tijdstip", String(64), nullable=False),
    Column("tijdstip_us", BigInteger, nullable=False),
    Column("vertrouwelijkheid", String(16), nullable=False),
    Column("actie_naam", String(242)),
    Column("handeling_naam", String(242)),
    Column("verwerking_naam", String(242)),
    Column("verwerking_id", String(36)),
    Column("verwerkingsactiviteit_id", String(36)),
    Column("verwerkingsactiviteit_url", String(2042)),
    Column("bewaartermijn", String(64)),
    Column("uitvoerder", String(20)),
    Column("systeem", String(242)),
    Column("gebruiker", String(40)),
    Column("gegevensbron", String(242)),
    Column("soort_afnemer_id", String(242)),
    Column("afnemer_id", String(40)),
    Column("afnemer_id_enc", LargeBinary),
    Column("verwerkingsactiviteit_id_afnemer", String(36)),
    Column("verwerkingsactiviteit_url_afnemer", String(2042)),
    Column("verwerking_id_afnemer", String(36)),
    UniqueConstraint("lineage_id", "versie", name="uq_versie_lineage_versie"),
    Index("ix_versie_lineage_seq", "lineage_id", "seq"),
    Index("ix_versie_verwerking", "verwerking_id"),
    Index("ix_versie_activiteit", "verwerkingsactiviteit_id"),
    # Migration 0013: the FG's "which persons did this gebruiker process" (services.fg).
    Index("ix_versie_gebruiker_tijdstip", "gebruiker", "tijdstip_us"),
)

verwerkt_object = Table(
    "verwerkt_object",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("versie_seq", SeqType, ForeignKey("verwerkingsactie_versie.seq"), nullable=False),
    Column("positie", Integer, nullable=False),
    Column("verwerkt_object_id", String(36), nullable=False),
    Column("objecttype", String(16), nullable=False),
    Column("soort_object_id", String(242), nullable=False),
    # Plain value, or NULL when pseudonymised (then object_id_enc holds it, R-PRIV-1).
    Column("object_id", String(40)),
    Column("object_id_enc", LargeBinary),
    Column("object_sleutel", LargeBinary(32), nullable=False),
    Column("tijdstip_us", BigInteger, nullable=False),
    Column("betrokkenheid", String(242)),
    Column("soorten_gegevens", Text, nullable=False),
    # The version's registration time: PostgreSQL partitions both tables by it (migration 0009).
    Column("tijdstip_registratie_us", BigInteger, nullable=False),
    Index("ix_object_sleutel_tijdstip", "object_sleutel", "tijdstip_us"),
    Index("ix_object_versie", "versie_seq"),
    Index("ix_object_verwerkt_object_id", "verwerkt_object_id"),
    # Migration 0010: the rows whose objectId is still in the clear (issue 19.3), so that looking for them is free.
    Index(
        "ix_object_in_the_clear",
        "id",
        sqlite_where=text("object_id IS NOT NULL"),
        postgresql_where=text("object_id IS NOT NULL"),
    ),
    # Migration 0010: rows under a casing of "bsn" but "BSN", which earlier versions indexed under that casing.
    Index(
        "ix_object_bsn_casing",
        "id",
        sqlite_where=text("soort_object_id IN ('BSn', 'BsN', 'Bsn', 'bSN', 'bSn', 'bsN', 'bsn')"),
        postgresql_where=text("soort_object_id IN ('BSn', 'BsN', 'Bsn', 'bSN', 'bSn', 'bsN', 'bsn')"),
    ),
)

client = Table(
    "api_client",
    metadata,
    Column("client_id", String(100), primary_key=True),
    # Sealed (store.client_secrets, migration 0011): `aesgcm:<key id>:<nonce+ciphertext>`, never the secret.
    # NULL for a client that signs with its own private key (public_key or jwks_url set instead).
    Column("secret", String(500), nullable=True),
    Column("scopes", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("public_key", Text, nullable=True),
    Column("jwks_url", String(2000), nullable=True),
)

# Raised by the database on every change of api_client (migration 0010's triggers): SQLite server processes read
# it per lookup to hear changes made by another process (services.client_cache).
client_change = Table(
    "client_change",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("counter", BigInteger, nullable=False),
)

# Idempotent ingest (extension, docs/idempotency.md). Not a log table: rows expire after
# IDEMPOTENCY_KEY_TTL_SECONDS. The body is kept only as a SHA-256 fingerprint (it holds personal data).
idempotency_key = Table(
    "idempotency_key",
    metadata,
    Column("client_id", String(100), nullable=False),
    Column("idempotency_key", String(255), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("actie_id", String(36), nullable=False),
    Column("status", Integer, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    # One result per (client, key), even under concurrent retries: the loser re-reads the winner's row.
    PrimaryKeyConstraint("client_id", "idempotency_key", name="pk_idempotency_key"),
    Index("ix_idempotency_key_created", "created_us"),
)

# The VAR (§17, extension: history). Insert-only like the log: every create, change and retirement of a
# processing activity appends a version; "current" = the highest `versie` of an `activiteit_id`.
# Lists and translations are stored as JSON text; the VAR is small and read whole per activity.
activiteit_versie = Table(
    "verwerkingsactiviteit_versie",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("activiteit_id", String(36), nullable=False),
    Column("versie", Integer, nullable=False),
    Column("organisatie", String(20), nullable=False),
    Column("ingetrokken", Boolean, nullable=False),
    Column("tijdstip_registratie_us", BigInteger, nullable=False),
    Column("client_id", String(100)),
    Column("naam", String(242), nullable=False),
    Column("gebaseerd_op", String(2042)),
    Column("categorie", String(242)),
    Column("verantwoordelijke_bestuursorgaan", String(242)),
    Column("doel", String(2042), nullable=False),
    Column("grondslag", String(242), nullable=False),
    Column("toelichting_grondslag", String(2042)),
    Column("bewaartermijn", String(2042)),
    Column("herkomst", String(2042)),
    Column("afnemende_internationale_derden", Text, nullable=False),
    Column("afnemende_categorie_ontvangers", Text, nullable=False),
    Column("verwerkte_persoonsgegevens", Text, nullable=False),
    Column("vertalingen", Text, nullable=False),
    # Its index serves the current version of one activity and as-of reads (store.var).
    UniqueConstraint("activiteit_id", "versie", name="uq_activiteit_versie"),
    # The list filters by organisation first (several organisations share one register).
    Index("ix_activiteit_organisatie", "organisatie", "activiteit_id"),
)

# Integrity (docs/integrity.md): the Merkle log over every stored version, its signed checkpoints, the
# published keys and the purges. All insert-only (migration 0005): nothing here is ever updated or deleted,
# not even by a purge, so every proof stays valid after content is removed.
#
# The tree, as the hash of every perfect subtree: (level, idx) covers leaves [idx·2^level, (idx+1)·2^level).
# Level 0 are the leaves: leaf index = idx, 0, 1, 2, … in commit order without gaps (assigned under the
# register-wide lock), each naming the stored row it covers. One table, so that one multi-row insert appends
# a leaf with the nodes it completes, and a leaf hash and what it covers can never drift apart.
merkle_node = Table(
    "merkle_node",
    metadata,
    Column("level", Integer, nullable=False),
    Column("idx", BigInteger, nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
    # Leaves only: 'verwerkingsactie' | 'verwerkingsactiviteit' | 'purge' (integrity.records.KINDS) and the
    # version's `seq` in its table, or the purge's id. NULL above level 0 (NULLs never collide in the index).
    Column("kind", String(32)),
    Column("ref", BigInteger),
    PrimaryKeyConstraint("level", "idx", name="pk_merkle_node"),
    UniqueConstraint("kind", "ref", name="uq_merkle_node_leaf"),
    CheckConstraint(
        "(level = 0 AND kind IS NOT NULL AND ref IS NOT NULL) OR (level > 0 AND kind IS NULL AND ref IS NULL)",
        name="ck_merkle_node_leaf",
    ),
)

checkpoint = Table(
    "checkpoint",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("tree_size", BigInteger, nullable=False),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    # The signed note exactly as served (C2SP signed-note with a tlog-checkpoint body).
    Column("note", Text, nullable=False),
    Index("ix_checkpoint_size", "tree_size"),
)

# The public half of every checkpoint key ever used, as events: 'actief' when it starts signing, 'vervangen'
# when a rotation replaces it. Retired keys stay published so that old checkpoints stay verifiable.
signing_key = Table(
    "signing_key",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("vkey", Text, nullable=False),
    Column("event", String(16), nullable=False),
    Column("at_us", BigInteger, nullable=False),
)

# R-RET-3: each purge, without personal data; its record is a leaf of its own.
purge = Table(
    "purge",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("tijdstip_registratie_us", BigInteger, nullable=False),
    Column("peilmoment_us", BigInteger, nullable=False),
    Column("criterium", Text, nullable=False),
    Column("lineages", Integer, nullable=False),
    Column("versies", Integer, nullable=False),
    Column("objecten", Integer, nullable=False),
)

# The leaves whose content a purge removed. The database lets a version row be deleted only when its leaf is
# listed here (triggers of migration 0005), so every removal is accounted for in the log.
purged_leaf = Table(
    "purged_leaf",
    metadata,
    Column("leaf_index", SeqType, primary_key=True, autoincrement=False),
    Column("purge_id", SeqType, ForeignKey("purge.id"), nullable=False),
    Index("ix_purged_leaf_purge", "purge_id"),
)

# Re-pseudonymisation (issue 19.3, docs/integrity.md §14, migration 0010): each pass that re-stored objectIds written
# in the clear, itself a leaf; and the object rows it re-stored, with the leaf of their version. Insert-only; the
# database lets a verwerkt_object row change its storage form (and nothing else) only when it is listed here.
herpseudonimisering = Table(
    "herpseudonimisering",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("tijdstip_registratie_us", BigInteger, nullable=False),
    Column("versies", Integer, nullable=False),
    Column("objecten", Integer, nullable=False),
)
herpseudonimiseerd_object = Table(
    "herpseudonimiseerd_object",
    metadata,
    Column("object_row", SeqType, primary_key=True, autoincrement=False),
    Column("herpseudonimisering_id", SeqType, ForeignKey("herpseudonimisering.id"), nullable=False),
    Column("leaf_index", BigInteger),
    Index("ix_herpseudonimiseerd_pass", "herpseudonimisering_id"),
)
# The highest verwerkt_object row written before migration 0010: only rows up to it may carry an earlier blind index.
herpseudonimisering_grens = Table(
    "herpseudonimisering_grens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("object_row", BigInteger, nullable=False),
)

# Admin pages (docs/admin.md, migration 0007). Both insert-only: the audit trail of every admin action (who, from
# the employee's ID token; when; what; on what; the outcome; never a secret or a BSN), and the result of every
# `verify` run (CLI or the admin page's button), the last of which the integrity page shows.
admin_audit = Table(
    "admin_audit",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("at_us", BigInteger, nullable=False),
    Column("subject", String(255), nullable=False),
    Column("name", String(255)),
    Column("roles", String(255), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(255)),
    Column("outcome", String(16), nullable=False),
    Column("detail", Text),
    Index("ix_admin_audit_at", "at_us"),
)

verify_result = Table(
    "verify_result",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("started_us", BigInteger, nullable=False),
    Column("finished_us", BigInteger, nullable=False),
    Column("run_by", String(255), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("tree_size", BigInteger, nullable=False),
    Column("checkpoints", Integer, nullable=False),
    Column("witness_checkpoints", Integer, nullable=False),
    Column("findings", Integer, nullable=False),
    Column("purged", Integer, nullable=False),
    # The first findings as JSON (leaf, kind, volgnummer, entry = actieId, finding, detail): no personal data.
    Column("report", Text, nullable=False),
)

# The logged-in sessions of the portal and the admin pages (migration 0012): the signed session cookie names one by
# a random id, stored here as its SHA-256; logout deletes the row, so a replayed cookie is logged out (issue 19.6).
# Shared by every server process. Not a log table: rows are deleted.
web_session = Table(
    "web_session",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("ui", String(16), nullable=False),  # "portaal" or "beheer"
    Column("created_us", BigInteger, nullable=False),
    Index("ix_web_session_created", "created_us"),
)

# The FG's watch list (issue 17, docs/fg.md, migration 0013). Insert-only: adding a person and taking them off are
# events (`event` 'toegevoegd' | 'verwijderd'); per person the last event counts. The person is pseudonymised like
# every BSN (R-PRIV-1): the blind index to match log entries, the identifier only sealed.
fg_volglijst = Table(
    "fg_volglijst",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("at_us", BigInteger, nullable=False),
    Column("event", String(16), nullable=False),
    Column("object_sleutel", LargeBinary(32), nullable=False),
    Column("soort_object_id", String(242), nullable=False),
    Column("object_id_enc", LargeBinary, nullable=False),
    Column("door", String(255), nullable=False),
    Column("reden", String(2042)),
    Index("ix_fg_volglijst_sleutel", "object_sleutel", "id"),
)
