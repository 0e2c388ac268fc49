"""Members as CSV: reading an upload into checked rows, and writing the export.

The column names are documented in ``docs/members-csv.md``. Reading is separate from writing to
the database so that the whole file is checked before anything is stored (all or nothing), and
nothing here touches the database or the event loop: ``node.members.imports`` runs it in a
thread, a chunk of rows at a time.

Spreadsheet programs run a cell that starts with ``= + - @`` as a formula, so the export puts
a ``'`` before such a value and the import takes it off again: a phone like ``+1 773 ...``
survives the round trip and a name like ``=HYPERLINK(...)`` never runs.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from node.errors import InvalidInput, PayloadTooLarge
from node.members.models import WARD_MAX, WARD_MIN, Member, MemberCreate, member_values
from schemas.base import problem_in_words

# Our own columns, in export order. Each is also accepted on import.
COLUMNS: tuple[str, ...] = (
    "given_name",
    "family_name",
    "email",
    "phone",
    "street_address",
    "city",
    "state",
    "postal_code",
    "ward",
    "precinct",
    "languages",
    "tags",
    "sms_opt_in",
    "share_contact_with_hosts",
    "joined_date",
    "notes",
)

# Action Network's people export, mapped onto our fields.
ACTION_NETWORK_COLUMNS: dict[str, str] = {
    "first_name": "given_name",
    "last_name": "family_name",
    "zip_code": "postal_code",
    "can2_phone": "phone",
    "address": "street_address",
}

HEADER_TO_FIELD: dict[str, str] = {name: name for name in COLUMNS} | ACTION_NETWORK_COLUMNS
IDENTIFYING_FIELDS = ("given_name", "family_name", "email")
LIST_FIELDS = frozenset({"languages", "tags"})
BOOL_FIELDS = frozenset({"sms_opt_in", "share_contact_with_hosts"})
_TRUE = frozenset({"true", "yes", "y", "1", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "f"})
_LIST_SEPARATOR = re.compile(r"[;,]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
YIELD_EVERY_ROWS = 20  # about 1 ms of checking


class CsvFileInvalid(InvalidInput):
    """The file as a whole cannot be read (encoding, header); no row was looked at."""

    code = "csv_invalid"


class ImportTooLarge(PayloadTooLarge):
    """The file is over this node's limit on bytes or rows; no row was looked at."""

    code = "import_too_large"


@dataclass(frozen=True)
class RowError:
    row: int  # as a spreadsheet numbers it: the header is row 1
    column: str  # as the file's header names it
    message: str


# A large import holds a few objects per row. Rows are kept as tuples of atomic values
# (strings, numbers, dates; lists as tuples), which the garbage collector stops tracking: its
# full passes, which stop every thread, then stay as short as the node's own objects make them.
Cells = tuple[str, ...]


@dataclass
class CsvFile:
    """A parsed upload: the header read, the rows still text."""

    records: list[tuple[int, Cells]] = field(default_factory=list)  # (row number, cells)
    header_length: int = 0
    fields_by_index: dict[int, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    column_of: dict[str, str] = field(default_factory=dict)  # field -> header name

    def column_for(self, field_name: str) -> str:
        return self.column_of.get(field_name, field_name)


@dataclass
class CheckedRows:
    """Rows turned into member fields (``member_values``), or the problems that stop them."""

    values: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def size_label(count: int) -> str:
    """A byte count as a person reads it: ``10 MiB``, ``2.5 MiB``, ``4 KiB``."""
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            return f"{count / size:.1f}".removesuffix(".0") + f" {unit}"
    return f"{count} bytes"


def too_large(*, max_bytes: int, size: int | None = None) -> ImportTooLarge:
    """The refusal of a file over ``max_bytes`` (of ``size`` bytes, when it is known)."""
    this = f"This file is {size_label(size)}" if size is not None else "This file is too large"
    return ImportTooLarge(
        f"{this}; this node imports files of up to {size_label(max_bytes)} (setting "
        "max_import_bytes). Split it into smaller files and import each of them.",
        field=["body", "file"],
    )


def check_size(data: bytes, *, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise too_large(max_bytes=max_bytes, size=len(data))


def read_csv(data: bytes, *, max_rows: int) -> CsvFile:
    """Decode and parse an upload, and read its header; the cells are checked later.

    Cheap next to checking the rows (the csv module is C), so the whole file is parsed at
    once: a file that is not CSV, or has too many rows, is refused before any row is checked.
    """
    text = _decode(data)
    records: list[Cells] = []
    try:
        # Row by row, not list(reader): that is one C call, which would keep the event loop's
        # thread waiting for the interpreter until the whole file is parsed.
        for count, record in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            records.append(tuple(record))
            if count % (YIELD_EVERY_ROWS * 25) == 0:
                time.sleep(0)
    except csv.Error as exc:
        raise CsvFileInvalid(
            f"This is not a CSV file this node can read ({exc}).", field=["body", "file"]
        ) from None
    if not records or not any(cell.strip() for cell in records[0]):
        raise CsvFileInvalid(
            "The first line must be the header, naming the columns (see docs/members-csv.md).",
            field=["body", "file"],
        )
    parsed = CsvFile(header_length=len(records[0]))
    parsed.fields_by_index = _read_header(records[0], parsed)
    # An empty line, or a row of empty cells, has nothing to import.
    parsed.records = [
        (index, record)
        for index, record in enumerate(records[1:], start=2)
        if any(cell.strip() for cell in record)
    ]
    if len(parsed.records) > max_rows:
        raise ImportTooLarge(
            f"This file has {len(parsed.records):,} rows; this node imports at most "
            f"{max_rows:,} rows at a time (setting max_import_rows). Split it into smaller "
            "files and import each of them.",
            field=["body", "file"],
        )
    return parsed


def check_rows(csv_file: CsvFile, records: Iterable[tuple[int, Cells]]) -> CheckedRows:
    """Convert and validate rows, as the API validates a new member (pure: run in a thread).

    Every row is checked as ``MemberCreate``. A row that updates a member by email is checked
    the same way: its cells are never empty, and with an email it names someone, so the
    rules of ``MemberUpdate`` give the same answer.
    """
    checked = CheckedRows()
    for count, (index, record) in enumerate(records, start=1):
        if count % YIELD_EVERY_ROWS == 0:
            # Let the event loop's thread have the interpreter if it waits for it, rather than
            # make it wait out the switch interval (5 ms) at each step of each request.
            time.sleep(0)
        if _has_extra_cells(csv_file, record):
            checked.errors.append(
                RowError(
                    index,
                    "",
                    f"This row has {len(record)} cells but the header has "
                    f"{csv_file.header_length}. "
                    "Put a value that contains a comma in double quotes.",
                )
            )
            continue
        values: dict[str, Any] = {}
        bad_cell = False
        for position, field_name in csv_file.fields_by_index.items():
            cell = _unguard(record[position].strip()) if position < len(record) else ""
            if not cell:
                continue
            try:
                values[field_name] = _convert(field_name, cell)
            except ValueError as exc:
                column = csv_file.column_for(field_name)
                checked.errors.append(RowError(index, column, str(exc)))
                bad_cell = True
        if bad_cell:
            continue
        model, row_errors = _validate(csv_file, index, values)
        if model is None:
            checked.errors.extend(row_errors)
        else:
            fields = member_values(model)
            for name in LIST_FIELDS & fields.keys():
                fields[name] = tuple(fields[name])  # atomic (see Cells); stored as JSON lists
            checked.values.append((index, fields))
    return checked


def _has_extra_cells(csv_file: CsvFile, record: Cells) -> bool:
    width = csv_file.header_length
    return len(record) > width and any(c.strip() for c in record[width:])


def duplicate_emails(csv_file: CsvFile) -> list[RowError]:
    """An error on every row whose email (whatever its case) an earlier row already has."""
    position = next((p for p, f in csv_file.fields_by_index.items() if f == "email"), None)
    if position is None:
        return []
    column = csv_file.column_for("email")
    seen: dict[str, int] = {}
    errors = []
    for index, record in csv_file.records:
        if _has_extra_cells(csv_file, record):
            continue  # an error of its own (check_rows)
        key = _unguard(record[position].strip()).lower() if position < len(record) else ""
        if not key:
            continue
        if key in seen:
            errors.append(
                RowError(
                    index,
                    column,
                    f"This email is also on row {seen[key]}; keep one row per person.",
                )
            )
        else:
            seen[key] = index
    return errors


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CsvFileInvalid(
            f"The file is not UTF-8 text (byte {exc.start + 1} cannot be read). "
            "In your spreadsheet, save it as 'CSV UTF-8' and upload it again.",
            field=["body", "file"],
        ) from None
    return text.removeprefix(BOM)


def _read_header(header: Cells, parsed: CsvFile) -> dict[int, str]:
    fields_by_index: dict[int, str] = {}
    for position, raw in enumerate(header):
        name = raw.strip()
        field_name = HEADER_TO_FIELD.get(name.lower())
        if field_name is None:
            parsed.ignored_columns.append(name or f"(unnamed column {position + 1})")
            continue
        if field_name in parsed.column_of:
            raise CsvFileInvalid(
                f"The columns {parsed.column_of[field_name]!r} and {name!r} both give "
                f"{field_name}; keep one of them.",
                field=["body", "file"],
            )
        parsed.column_of[field_name] = name
        fields_by_index[position] = field_name
    if not any(f in parsed.column_of for f in IDENTIFYING_FIELDS):
        raise CsvFileInvalid(
            "The header has no name or email column: name at least one of given_name, "
            "family_name, email (or Action Network's first_name, last_name, email).",
            field=["body", "file"],
        )
    return fields_by_index


def _unguard(cell: str) -> str:
    if cell.startswith("'") and cell[1:].startswith(_FORMULA_START):
        return cell[1:]
    return cell


def _convert(field_name: str, cell: str) -> Any:
    if field_name in LIST_FIELDS:
        return [item.strip() for item in _LIST_SEPARATOR.split(cell) if item.strip()]
    if field_name in BOOL_FIELDS:
        lowered = cell.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"Write yes or no (not {cell!r}).")
    if field_name == "ward":
        try:
            ward = int(cell)
        except ValueError:
            raise ValueError(f"Write the ward as a number from {WARD_MIN} to {WARD_MAX}.") from None
        if not WARD_MIN <= ward <= WARD_MAX:
            raise ValueError(f"Chicago wards are numbered {WARD_MIN} to {WARD_MAX}; not {ward}.")
        return ward
    if field_name == "joined_date":
        return _parse_date(cell)
    return cell


def _parse_date(cell: str) -> date:
    for layout in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(cell, layout).date()
        except ValueError:
            continue
    raise ValueError(f"Write the date as 2026-03-15 (or 3/15/2026), not {cell!r}.")


def _validate(
    csv_file: CsvFile, index: int, values: dict[str, Any]
) -> tuple[MemberCreate | None, list[RowError]]:
    try:
        return MemberCreate.model_validate(values), []
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            loc = error.get("loc", ())
            if loc and isinstance(loc[0], str):
                column = csv_file.column_for(loc[0])
            else:
                column = ", ".join(
                    csv_file.column_of[f] for f in IDENTIFYING_FIELDS if f in csv_file.column_of
                )
            message = problem_in_words(error)
            errors.append(RowError(index, column, message))
        return None, errors


def write_csv(members: Iterable[Member]) -> str:
    """Every member as CSV with our column names; starts with a BOM so Excel reads UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for member in members:
        writer.writerow([_guard(_cell(getattr(member, column))) for column in COLUMNS])
    return BOM + out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _guard(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) else cell
