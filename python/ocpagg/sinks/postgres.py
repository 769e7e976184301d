"""koku's PostgreSQL tables as the sink: monthly partitions, koku's delete, COPY through ADBC.

Each day's rows are COPYed (ADBC bulk ingestion, binary) into a temporary staging table whose
columns are the kernel's Arrow types; when the whole range is staged, koku's delete runs and one
INSERT … SELECT moves the rows into the real table, casting to koku's types (uuid,
numeric(33,15), jsonb). Missing monthly partitions are created beforehand in short transactions
of their own, as koku's ingest does, so the run's transaction holds no lock that blocks readers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from ..errors import ConfigError, WriteError
from ..logs import get_logger
from ..params import RunParameters, month_ranges, next_month
from ..schema import SUMMARY_SCHEMA
from .base import STAGE_TABLE, DatabaseSink, one_line, quote_ident, summary_rows_of
from .postgres_ddl import NUMERIC
from .seed import SUMMARY_TABLE

LOG = get_logger(__name__)


# Bytes of summary rows per COPY into the staging table (the driver holds about twice this).
STAGE_CHUNK_BYTES = 4 * 2**20


def stage_chunk_rows(rows: pa.Table) -> int:
    """Rows per COPY: about STAGE_CHUNK_BYTES of the day's rows, at least one."""
    per_row = rows.nbytes / max(rows.num_rows, 1)
    return max(1, int(STAGE_CHUNK_BYTES / max(per_row, 1.0)))


def _pg_type(t: pa.DataType) -> str:
    if pa.types.is_floating(t):
        return "double precision"
    if pa.types.is_integer(t):
        return "bigint"
    if pa.types.is_date(t):
        return "date"
    return "text"


def _cast(field: pa.Field) -> str:
    """How a staged column becomes koku's column type."""
    column = f"s.{quote_ident(field.name)}"
    if field.name == "uuid":
        return "coalesce(CAST(s.uuid AS uuid), gen_random_uuid())"
    if field.name == "source_uuid":
        return "CAST(s.source_uuid AS uuid)"
    if field.name in ("report_period_id", "cost_category_id"):
        return f"CAST({column} AS integer)"
    if pa.types.is_floating(field.type):
        # float8 → text is the shortest exact representation (extra_float_digits > 0), rounded to scale 15.
        return f"CAST(CAST({column} AS text) AS {NUMERIC})"
    if field.name.endswith("_labels") or field.name == "infrastructure_usage_cost":
        return f"CAST({column} AS jsonb)"
    return column


def partition_name(table: str, month_start: dt.date) -> str:
    """koku's name of a monthly partition of a partitioned table."""
    return f"{table}_{month_start:%Y_%m}"


def connect(dsn: str) -> Any:
    """An ADBC PostgreSQL connection (URL or libpq keyword string), as a WriteError when it fails."""
    import adbc_driver_postgresql.dbapi as pg

    try:
        return pg.connect(dsn)
    except Exception as exc:  # noqa: BLE001 - connection failures become one line
        raise WriteError(f"cannot connect to PostgreSQL: {one_line(exc)}") from exc


class PostgresSink(DatabaseSink):
    """A tenant schema of koku's PostgreSQL database."""

    def __init__(
        self, connection: Any, schema: str, *, owns_connection: bool, target: str = SUMMARY_TABLE
    ) -> None:
        super().__init__(connection, owns_connection=owns_connection, target=target)
        if not schema:
            raise ConfigError("no schema given")
        self.schema = schema
        self._stage_ready = False

    @classmethod
    def connect(cls, dsn: str, schema: str, *, target: str = SUMMARY_TABLE) -> PostgresSink:
        return cls(connect(dsn), schema, owns_connection=True, target=target)

    init_hint = " --schema ..."

    def table(self, name: str) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(name)}"

    def describe(self, name: str) -> str:
        return f"{self.schema}.{name}"

    def param(self, index: int) -> str:
        return f"${index}"

    def counted(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        rows = self.query(f"WITH changed AS ({sql} RETURNING 1) SELECT count(*) FROM changed", parameters)
        return int(rows[0][0])

    def has_table(self, name: str) -> bool:
        rows = self.query("SELECT to_regclass($1) IS NOT NULL", [self.table(name)])
        return bool(rows and rows[0][0])

    def text_limits(self) -> dict[str, int]:
        rows = self.query(
            "SELECT column_name, character_maximum_length FROM information_schema.columns "
            "WHERE table_schema = $1 AND table_name = $2 AND character_maximum_length IS NOT NULL",
            [self.schema, self.target],
        )
        return {str(name): int(limit) for name, limit in rows}

    def timestamp(self, day: dt.date) -> Any:
        return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)

    def _uuid(self, placeholder: str) -> str:
        return f"CAST({placeholder} AS uuid)"

    def _new_uuid(self) -> str:
        return "gen_random_uuid()"

    def after_explicit_id(self, table: str) -> None:
        self.query(
            f"SELECT setval(pg_get_serial_sequence($1, 'id'), (SELECT max(id) FROM {self.table(table)}))",
            [self.table(table)],
        )

    def check_tables(self) -> None:
        """The tables a run needs exist; a missing shadow table is created (and committed) first.

        An existing shadow table must not be koku's table or one of its partitions, and must have the
        summary's columns: a shadow run never writes a row where koku's rows are.
        """
        if self.target != SUMMARY_TABLE:
            if self.has_table(self.target):
                self.check_shadow_table()
            else:
                from .postgres_ddl import summary_table_statements

                self.rollback()
                for statement in summary_table_statements(self.schema, self.target, foreign_keys=False):
                    self.execute(statement)
                self.commit()
                LOG.info("created shadow table %s.%s", self.schema, self.target)
        super().check_tables()

    def check_shadow_table(self) -> None:
        """Refuse a shadow table that is (part of) koku's table or lacks the summary's columns."""
        shadow = self.describe(self.target)
        rows = self.query(
            "SELECT count(*) FROM pg_partition_ancestors(CAST($1 AS regclass)) AS a "
            "WHERE a.relid = to_regclass($2)",
            [self.table(self.target), self.table(SUMMARY_TABLE)],
        )
        if rows and rows[0][0]:
            what = "is koku's table" if self.target == SUMMARY_TABLE else "is a partition of koku's table"
            raise ConfigError(
                f"shadow table {shadow} {what} {SUMMARY_TABLE}: give the shadow table its own name"
            )
        present = {
            str(name)
            for (name,) in self.query(
                "SELECT attname FROM pg_attribute WHERE attrelid = CAST($1 AS regclass) "
                "AND attnum > 0 AND NOT attisdropped",
                [self.table(self.target)],
            )
        }
        missing = [name for name in (*SUMMARY_SCHEMA.names, "infrastructure_raw_cost") if name not in present]
        if missing:
            raise ConfigError(
                f"table {shadow} lacks the summary's columns ({', '.join(missing[:5])}"
                f"{' ...' if len(missing) > 5 else ''}): it is not a shadow table; give another name"
            )

    def check_idle(self) -> None:
        """A caller's connection with uncommitted writes would lose them to our rollback: refuse it."""
        rows = self.query("SELECT txid_current_if_assigned() IS NOT NULL")
        if rows and rows[0][0]:
            raise ConfigError(
                "the connection holds uncommitted work; commit or roll it back before the run "
                "(ocpagg runs its own transaction and never ends one it did not start)"
            )

    # ---- partitions, in transactions of their own ------------------------------------------------

    def prepare(self, params: RunParameters) -> None:
        """Create missing monthly partitions, each in a short transaction committed before the run's."""
        if not self.has_table(self.target):
            return
        self.rollback()  # nothing of ours is open: start from a clean transaction
        for year, month, _ in month_ranges(params.start_date, params.end_date):
            try:
                created = self.ensure_partition(dt.date(year, month, 1))
                self.commit()
            except Exception:
                self.rollback()
                raise
            if created:
                LOG.info("partition for %04d-%02d committed before the run", year, month)

    def ensure_partition(self, month_start: dt.date) -> bool:
        """Create the month's partition as koku does when no partition holds the month; True if created.

        Rows of that month already in the default partition are moved into the new partition, and
        koku's partitioned_tables tracking row is added when the schema has that table (for koku's
        table only, not a shadow table).
        """
        parent = self.table(self.target)
        name = partition_name(self.target, month_start)
        upper = next_month(month_start)
        bound = f"FOR VALUES FROM ('{month_start.isoformat()}') TO ('{upper.isoformat()}')"
        kind = self.query("SELECT c.relkind FROM pg_class c WHERE c.oid = CAST($1 AS regclass)", [parent])
        if kind and kind[0][0] != "p":
            return False  # not partitioned: nothing to create

        def existing() -> list[tuple[str, str]]:
            return self.query(
                "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
                "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = CAST($1 AS regclass)",
                [parent],
            )

        def present(partitions: list[tuple[str, str]]) -> bool:
            return any(relname == name or expr == bound for relname, expr in partitions)

        if present(existing()):
            return False
        # Runs of other report periods may need the same partition: create it under a schema-wide lock
        # (held to the end of this short transaction), looking again once we hold it.
        self.query("SELECT pg_advisory_xact_lock(hashtext($1))", [f"ocpagg-partitions:{self.schema}"])
        partitions = existing()
        if present(partitions):
            return False
        default = [relname for relname, expr in partitions if expr == "DEFAULT"]
        target = self.table(name)
        in_default = 0
        if default:
            rows = self.query(
                f"SELECT count(*) FROM {self.table(default[0])} WHERE usage_start >= $1 AND usage_start < $2",
                [month_start, upper],
            )
            in_default = int(rows[0][0])
        if in_default:
            # koku's move: a detached table takes the month's rows from the default partition, then attaches.
            self.execute(f"CREATE TABLE {target} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
            self.execute(
                f"WITH moved AS (DELETE FROM {self.table(default[0])} "
                f"WHERE usage_start >= '{month_start.isoformat()}' AND usage_start < '{upper.isoformat()}' "
                f"RETURNING *) INSERT INTO {target} SELECT * FROM moved"
            )
            self.execute(f"ALTER TABLE {parent} ATTACH PARTITION {target} {bound}")
        else:
            self.execute(f"CREATE TABLE {target} PARTITION OF {parent} {bound}")
        LOG.info(
            "created partition %s.%s (%d rows moved from the default partition)",
            self.schema,
            name,
            in_default,
        )
        # koku's partition tracking lists koku's tables only: a shadow table is ocpagg's, dropped with it.
        if self.target == SUMMARY_TABLE and self.has_table("partitioned_tables"):
            self.execute(
                f"INSERT INTO {self.table('partitioned_tables')} (schema_name, table_name, "
                "partition_of_table_name, partition_type, partition_col, partition_parameters, active) "
                "SELECT $1, $2, $3, 'range', 'usage_start', CAST($4 AS jsonb), true "
                f"WHERE NOT EXISTS (SELECT 1 FROM {self.table('partitioned_tables')} "
                "WHERE schema_name = $1 AND table_name = $2)",
                [
                    self.schema,
                    name,
                    self.target,
                    f'{{"default": false, "from": "{month_start.isoformat()}", "to": "{upper.isoformat()}"}}',
                ],
            )
        return True

    # ---- the run's transaction ---------------------------------------------------------------------

    def lock_run(self, params: RunParameters) -> None:
        """One run per tenant table and report period at a time; the lock ends with the transaction."""
        self.execute("SET LOCAL extra_float_digits = 3")
        self.query(
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            [f"ocpagg:{self.schema}:{self.target}:{params.report_period_id}"],
        )

    def open_stage(self) -> None:
        columns = ", ".join(f"{quote_ident(f.name)} {_pg_type(f.type)}" for f in SUMMARY_SCHEMA)
        self.execute(f"CREATE TEMPORARY TABLE {quote_ident(STAGE_TABLE)} ({columns}) ON COMMIT DROP")
        self._stage_ready = True

    def stage(self, day: dt.date, batch: pa.RecordBatch) -> int:
        if not self._stage_ready:
            raise WriteError("stage before open_stage")
        if batch.num_rows == 0:
            return 0
        rows = summary_rows_of(batch)
        staged = 0
        with self.connection.cursor() as cur:
            # one COPY per slice: the driver buffers a whole COPY (about twice the slice's bytes)
            for part in rows.to_batches(max_chunksize=stage_chunk_rows(rows)):
                count = cur.adbc_ingest(STAGE_TABLE, part, mode="append", temporary=True)
                staged += int(count) if count is not None and count >= 0 else part.num_rows
        return staged

    def insert_staged(self) -> int:
        names = ", ".join(quote_ident(n) for n in SUMMARY_SCHEMA.names)
        values = ", ".join(_cast(f) for f in SUMMARY_SCHEMA)
        return self.counted(
            f"INSERT INTO {self.table(self.target)} ({names}) "
            f"SELECT {values} FROM pg_temp.{quote_ident(STAGE_TABLE)} AS s"
        )
