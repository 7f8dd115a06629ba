"""Core statements compiled once at start-up and run straight on the driver's cursor: the hot path's SQL.

`Connection.execute` costs 30-50 µs of Python per statement (cache-key generation, execution
context, result metadata) whether or not the statement is cached; a SQLite statement itself takes
2-5 µs. A `Prepared` statement is compiled from Core once for the engine's dialect; running it
binds the values with the column types' own processors (so datetimes and JSON are stored exactly
as SQLAlchemy stores them) and sends the same SQL on the cursor of the caller's connection, inside
the caller's transaction. Rows come back through the columns' result processors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NoReturn

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

Processor = Callable[[Any], Any]
_MISSING = object()


class Prepared:
    def __init__(self, statement: ClauseElement, dialect: Dialect, column_keys: Sequence[str] | None = None,
                 raw: Sequence[str] = ()) -> None:
        """`raw`: parameters the caller passes ready for the driver (a JSON column's text serialised already)."""
        self.dialect = dialect
        self._driver_error: type[Exception] = dialect.loaded_dbapi.Error
        compiled: Any = statement.compile(dialect=dialect, column_keys=list(column_keys) if column_keys else None)
        self.sql: str = compiled.string
        binds = compiled.binds
        # Literal values written into the statement (status == "open") and the columns' scalar defaults.
        self._fixed: dict[str, Any] = {
            name: b.value for name, b in binds.items() if not b.required and b.value is not None}
        for column in getattr(compiled, "insert_prefetch", ()):
            if column.default is not None and column.default.is_scalar:
                self._fixed[column.key] = column.default.arg
        self._positional = bool(compiled.positional)
        order = list(compiled.positiontup) if compiled.positional else list(binds)
        # Per parameter, in the driver's order: its name, its fixed value (if any) and its type's processor.
        self._plan: list[tuple[str, Any, Processor | None]] = [
            (name, self._fixed.get(name, _MISSING),
             None if name in raw else binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in order]
        self._names = [name for name, _, _ in self._plan]
        readers: list[Processor | None] = []
        for column in getattr(compiled, "_result_columns", ()):
            kind = column[3]
            readers.append(kind.dialect_impl(dialect).result_processor(dialect, None))
        self._readers = readers if any(readers) else None

    @property
    def defaults(self) -> dict[str, Any]:
        """The values the statement supplies itself (literals, columns' scalar defaults)."""
        return dict(self._fixed)

    def params(self, values: Mapping[str, Any]) -> Any:
        bound = []
        for name, fixed, proc in self._plan:
            value = values[name] if fixed is _MISSING else values.get(name, fixed)
            bound.append(value if proc is None else proc(value))
        return tuple(bound) if self._positional else dict(zip(self._names, bound, strict=True))

    def run(self, conn: Connection, values: Mapping[str, Any]) -> Any:
        """Execute once; returns the driver's cursor (rowcount, and rows through `rows`/`first`)."""
        cursor = conn.connection.cursor()
        params = self.params(values)
        try:
            cursor.execute(self.sql, params)
        except self._driver_error as exc:
            self._failed(conn, exc, cursor, params)
        return cursor

    def many(self, conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
        cursor = conn.connection.cursor()
        params = [self.params(row) for row in rows]
        try:
            cursor.executemany(self.sql, params)
        except self._driver_error as exc:
            self._failed(conn, exc, cursor, params)
        cursor.close()

    def _failed(self, conn: Connection, exc: Any, cursor: Any, params: Any) -> NoReturn:
        """A driver error raised as SQLAlchemy raises it (IntegrityError, OperationalError, ... all DBAPIError),
        and a lost connection invalidated, so callers and the pool see what Connection.execute would show."""
        disconnect = self.dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
        wrapped = DBAPIError.instance(self.sql, params, exc, self._driver_error, connection_invalidated=disconnect,
                                      dialect=self.dialect)
        if disconnect:
            conn.invalidate(wrapped)
        raise wrapped from exc

    def rows(self, conn: Connection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        cursor = self.run(conn, values)
        fetched = cursor.fetchall()
        cursor.close()
        return [self._read(row) for row in fetched]

    def first(self, conn: Connection, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        found = self.rows(conn, values)
        return found[0] if found else None

    def _read(self, row: Sequence[Any]) -> tuple[Any, ...]:
        if self._readers is None:
            return tuple(row)
        return tuple(value if read is None or value is None else read(value)
                     for value, read in zip(row, self._readers, strict=True))
