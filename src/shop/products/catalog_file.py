"""The catalog file that import and export share: CSV or JSON Lines, one row per variant.

Rows of one product share its `product_slug` and each carries the product's fields (the line
applied last wins). Line numbers are the file's physical lines, counted at `\\n`: the CSV header
is line 1 and a quoted CSV field may run over several lines, so its row is numbered by its first
line. Blank lines are skipped. A problem of the whole file (unknown type, wrong header, not
UTF-8) is an `UnusableInput`; a problem of one line rejects that line only.
"""

import codecs
import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePath
from typing import Any, BinaryIO, TextIO

from pydantic import Field, StrictBool, StrictInt, ValidationError

from shop.core.schemas import Schema
from shop.products.schemas import MAX_AMOUNT, MAX_STOCK, Attributes, Description, Images, Name, Sku, Slug, VariantName

COLUMNS = (
    "sku",
    "product_slug",
    "product_name",
    "description",
    "category_slug",
    "variant_name",
    "price_amount",
    "stock",
    "attributes",
    "images",
    "is_active",
)
CSV_HEADER = ",".join(COLUMNS)
IMAGE_SEPARATOR = "|"
# A URL may hold a literal "|"; written percent-encoded it cannot be split apart on import.
_ESCAPED_SEPARATOR = "%7C"
_INTEGER = re.compile(r"-?[0-9]{1,19}")


class FileFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


_SUFFIXES = {".csv": FileFormat.csv, ".jsonl": FileFormat.jsonl}
_CONTENT_TYPES = {
    "text/csv": FileFormat.csv,
    "application/csv": FileFormat.csv,
    "application/jsonl": FileFormat.jsonl,
    "application/x-jsonlines": FileFormat.jsonl,
    "application/jsonlines": FileFormat.jsonl,
    "application/x-ndjson": FileFormat.jsonl,
    "application/ndjson": FileFormat.jsonl,
}


class UnusableInput(ValueError):
    """The file as a whole cannot be imported; the message says why, in one line."""


def format_of(filename: str | None, content_type: str | None = None) -> FileFormat:
    """The format named by the file's extension, else by the upload's content type."""
    suffix = PurePath(filename).suffix.lower() if filename else ""
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type in _CONTENT_TYPES:
        return _CONTENT_TYPES[media_type]
    named = repr(filename) if filename else "the file"
    raise UnusableInput(f"{named} is neither CSV (.csv, text/csv) nor JSON Lines (.jsonl, application/jsonl)")


class CatalogRow(Schema):
    """One line of the file, checked with the admin API's rules (prices in the store currency)."""

    sku: Sku
    product_slug: Slug
    product_name: Name
    description: Description = ""
    category_slug: Slug | None = None
    variant_name: VariantName = ""
    price_amount: StrictInt = Field(ge=0, le=MAX_AMOUNT)
    stock: StrictInt = Field(default=0, ge=0, le=MAX_STOCK)
    attributes: Attributes = Field(default_factory=dict)
    images: Images = Field(default_factory=list)
    is_active: StrictBool = True


@dataclass(frozen=True, slots=True)
class SourceLine:
    """A data line as read: its values, or why they could not be read."""

    line: int
    values: dict[str, Any] | None
    error: str | None = None


def parse_row(source: SourceLine) -> CatalogRow | str:
    """The validated row, or the reason the line is rejected."""
    if source.values is None:
        return source.error or "unreadable line"
    try:
        return CatalogRow.model_validate(source.values)
    except ValidationError as exc:
        return "; ".join(_describe(error) for error in exc.errors())


def _describe(error: Any) -> str:
    location = ".".join(str(part) for part in error["loc"])
    return f"{location}: {error['msg']}" if location else str(error["msg"])


@dataclass(frozen=True)
class CatalogFile:
    """A file to import, opened afresh for each pass (one to count and check it, one to apply it)."""

    format: FileFormat
    opener: Callable[[], AbstractContextManager[BinaryIO]]
    name: str

    @classmethod
    def from_path(cls, path: Path) -> "CatalogFile":
        if not path.is_file():
            raise UnusableInput(f"no such file: {path}")
        file_format = format_of(path.name)
        return cls(file_format, lambda: path.open("rb"), str(path))

    @classmethod
    def from_bytes(cls, data: bytes, file_format: FileFormat, name: str = "upload") -> "CatalogFile":
        return cls(file_format, lambda: io.BytesIO(data), name)

    def lines(self) -> Iterator[SourceLine]:
        with self.opener() as raw:
            reader = _read_csv if self.format is FileFormat.csv else _read_jsonl
            yield from reader(_text_lines(raw))

    def check(self) -> int:
        """The number of data lines; raises `UnusableInput` when the file cannot be imported at all."""
        return sum(1 for _ in self.lines())


def _text_lines(raw: BinaryIO) -> Iterator[str]:
    """Each physical line, decoded, with its line ending (the CSV reader needs it)."""
    for number, chunk in enumerate(raw, start=1):
        if number == 1:
            chunk = chunk.removeprefix(codecs.BOM_UTF8)
        try:
            yield chunk.decode("utf-8")
        except UnicodeDecodeError:
            raise UnusableInput(f"line {number} is not UTF-8 text") from None


def _read_jsonl(lines: Iterator[str]) -> Iterator[SourceLine]:
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            yield SourceLine(number, None, f"not valid JSON: {exc.msg} (column {exc.colno})")
            continue
        if not isinstance(value, dict):
            yield SourceLine(number, None, "not a JSON object")
            continue
        if value.get("category_slug") == "":
            value["category_slug"] = None
        yield SourceLine(number, value)


def _read_csv(lines: Iterator[str]) -> Iterator[SourceLine]:
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None)
    except csv.Error:
        header = None
    if header is None or tuple(header) != COLUMNS:
        raise UnusableInput(f"the CSV header must be exactly: {CSV_HEADER}")
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield SourceLine(start, None, f"malformed CSV: {exc}")
            continue
        if not fields:
            continue
        if len(fields) != len(COLUMNS):
            yield SourceLine(start, None, f"expected {len(COLUMNS)} fields, found {len(fields)}")
            continue
        yield _csv_values(start, dict(zip(COLUMNS, fields, strict=True)))


def _csv_values(line: int, fields: dict[str, str]) -> SourceLine:
    """CSV cells as the JSON Lines values they stand for; an empty cell takes the default."""
    values: dict[str, Any] = {
        name: fields[name] for name in ("sku", "product_slug", "product_name", "description", "variant_name")
    }
    values["category_slug"] = fields["category_slug"] or None
    for name in ("price_amount", "stock"):
        text = fields[name].strip()
        if not text and name == "stock":
            continue
        if not _INTEGER.fullmatch(text):
            return SourceLine(line, None, f"{name}: must be a whole number (minor units for prices), not {text!r}")
        values[name] = int(text)
    if attributes := fields["attributes"].strip():
        try:
            values["attributes"] = json.loads(attributes)
        except json.JSONDecodeError:
            return SourceLine(line, None, 'attributes: must be a JSON object such as {"size": "M"}')
    images = fields["images"].strip()
    values["images"] = images.split(IMAGE_SEPARATOR) if images else []
    if active := fields["is_active"].strip().lower():
        if active not in ("true", "false"):
            return SourceLine(line, None, f"is_active: must be true or false, not {fields['is_active']!r}")
        values["is_active"] = active == "true"
    return SourceLine(line, values)


class CatalogWriter:
    """Writes rows in the file's format; the same rows always give the same bytes."""

    def __init__(self, out: TextIO, file_format: FileFormat) -> None:
        self.out = out
        self.format = file_format
        self._csv = csv.writer(out, lineterminator="\n")
        if file_format is FileFormat.csv:
            self._csv.writerow(COLUMNS)

    def write(self, row: CatalogRow) -> None:
        attributes = dict(sorted(row.attributes.items()))
        if self.format is FileFormat.jsonl:
            values = row.model_dump()
            values["attributes"] = attributes
            line = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
            # Escaped, so that tools which also break lines at these two (str.splitlines) see one line.
            self.out.write(line.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029") + "\n")
            return
        self._csv.writerow(
            [
                row.sku,
                row.product_slug,
                row.product_name,
                row.description,
                row.category_slug or "",
                row.variant_name,
                str(row.price_amount),
                str(row.stock),
                json.dumps(attributes, ensure_ascii=False, separators=(",", ":")) if attributes else "",
                IMAGE_SEPARATOR.join(url.replace(IMAGE_SEPARATOR, _ESCAPED_SEPARATOR) for url in row.images),
                "true" if row.is_active else "false",
            ]
        )
