"""Opening a Digital BSS export and streaming its rows.

An export arrives as a ZIP, a folder, one file or a list of files, holding CSV
(or TXT/TSV) and XLSX files, possibly in sub-folders. :func:`open_export`
lists them as :class:`Member` objects without reading them;
:func:`detect_member` sniffs one; :func:`iter_rows` streams its data rows as
lists of strings in constant memory.

ZIP files are never extracted to disk, so hostile member names cannot write
anywhere; they are still refused because no honest export contains them.
Sizes are checked against :class:`Limits` before reading (declared sizes) and
while reading (declared sizes can lie), which defuses zip bombs.
"""

import csv
import datetime
import io
import os
import posixpath
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field

from . import detect
from .errors import ExportError

__all__ = [
    "Export",
    "Limits",
    "Member",
    "detect_member",
    "iter_rows",
    "open_export",
    "read_sample",
]

TEXT_EXTENSIONS = (".csv", ".txt", ".tsv", ".dat", ".psv")
#: Documents an export may carry beside its tables (invoice PDFs, contracts, ID scans): listed,
#: never parsed as tables. Only an invoice's ``pdf_file`` must be a PDF (the invoices phase checks it).
DOCUMENT_EXTENSIONS = (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff")
XLSX_EXTENSIONS = (".xlsx", ".xlsm")
_IGNORED_PREFIXES = ("__MACOSX/", ".")
SAMPLE_SIZE = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Sanity limits of an export (bytes). The defaults fit a 2M-subscriber export comfortably."""

    #: Tables (and other files) in an archive; documents are counted apart.
    max_members: int = 500
    #: Documents (invoice PDFs, contracts, scans): one per invoice is normal, so the limit is far higher.
    max_documents: int = 5_000_000
    max_member_size: int = 20 << 30
    max_total_size: int = 100 << 30
    # Text compresses 5-20x; several hundred times is a bomb.
    max_ratio: int = 200
    # Small members may compress absurdly well (a column of zeros); only big ones are suspicious.
    ratio_check_above: int = 64 << 20
    max_xlsx_size: int = 2 << 30


class _GuardedReader(io.RawIOBase):
    """A read-only stream that refuses to deliver more than ``limit`` bytes
    and turns archive corruption into :class:`ExportError`."""

    def __init__(self, raw, limit, name):
        self._raw = raw
        self._limit = limit
        self._name = name
        self._count = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        try:
            data = self._raw.read(len(buffer))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise ExportError(f"the archive is damaged or truncated ({type(exc).__name__})", file=self._name)
        self._count += len(data)
        if self._count > self._limit:
            raise ExportError(
                "the member inflates beyond its declared or allowed size (zip bomb?)", file=self._name
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self):
        try:
            self._raw.close()
        finally:
            result = super().close()
        return result


@dataclass
class Member:
    """One data file of an export.

    ``name`` is the path inside the export (``"extract/SUBS.csv"``), ``kind``
    is ``"text"`` or ``"xlsx"``, ``sheet`` the worksheet for XLSX members.
    """

    name: str
    size: int
    kind: str
    sheet: str | None = None
    _opener: object = field(default=None, repr=False)

    @property
    def base_name(self):
        """File name without folders (what detection looks at)."""
        return posixpath.basename(self.name)

    @property
    def label(self):
        """Name used in messages and reports (with the sheet for XLSX)."""
        return f"{self.name}#{self.sheet}" if self.sheet else self.name

    def open(self):
        """Return a binary stream of the member's raw bytes (close it after use)."""
        return self._opener()


@dataclass
class Export:
    """An opened export: its data ``members``, the ``skipped`` ``(name, reason)`` entries and its
    ``documents`` (:class:`Member` of kind ``"document"``: PDFs and scans the tables refer to by path)."""

    source: str
    members: list
    skipped: list
    _zip: object = field(default=None, repr=False)
    _tmp: list = field(default_factory=list, repr=False)
    documents: list = field(default_factory=list)

    def close(self):
        if self._zip is not None:
            self._zip.close()
        for path in self._tmp:
            if os.path.exists(path):
                os.unlink(path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def member(self, name):
        """Return the member whose name or label is ``name``."""
        for m in self.members:
            if name in (m.name, m.label, m.base_name):
                return m
        raise KeyError(name)


def _kind(name):
    lower = name.lower()
    if lower.endswith(TEXT_EXTENSIONS):
        return "text"
    if lower.endswith(XLSX_EXTENSIONS):
        return "xlsx"
    return None


def _unsafe(name):
    norm = name.replace("\\", "/")
    return norm.startswith("/") or (len(norm) > 1 and norm[1] == ":") or ".." in norm.split("/")


def _xlsx_sheets(opener, label, limits):
    """List the sheets of an XLSX after checking its own inner archive sizes."""
    try:
        import openpyxl
    except ImportError:
        raise ExportError("reading XLSX needs the openpyxl package", file=label)
    with opener() as raw, tempfile.SpooledTemporaryFile(max_size=64 << 20) as fh:
        # A member of a ZIP export is a forward-only stream; a workbook needs seeking.
        shutil.copyfileobj(raw, fh)
        fh.seek(0)
        try:
            with zipfile.ZipFile(fh) as inner:
                total = sum(i.file_size for i in inner.infolist())
                packed = sum(i.compress_size for i in inner.infolist()) or 1
        except zipfile.BadZipFile:
            raise ExportError("the XLSX file is damaged (not a valid workbook archive)", file=label)
        if total > limits.max_xlsx_size or (
            total > limits.ratio_check_above and total / packed > limits.max_ratio
        ):
            raise ExportError("the XLSX workbook inflates to an absurd size; refused", file=label)
        fh.seek(0)
        try:
            book = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for damaged workbooks
            raise ExportError(f"the XLSX workbook cannot be read ({type(exc).__name__})", file=label)
        try:
            return list(book.sheetnames)
        finally:
            book.close()


def _add(members, skipped, name, size, opener, limits, documents=None):
    kind = _kind(name)
    base = posixpath.basename(name.replace("\\", "/"))
    if base.startswith(".") or name.startswith(_IGNORED_PREFIXES[0]):
        skipped.append((name, "hidden or system file"))
        return
    if documents is not None and name.lower().endswith(DOCUMENT_EXTENSIONS):
        # Listed as skipped too: detection reports every file that is not a table.
        documents.append(Member(name, size, "document", None, opener))
        skipped.append((name, "a document, not a table: kept for the rows that name it"))
        return
    if name.lower().endswith((".zip", ".gz", ".7z", ".rar", ".tar")):
        skipped.append((name, "nested archives are not read; extract them into the export"))
        return
    if kind is None:
        skipped.append((name, "not a CSV/TXT/XLSX file"))
        return
    if size == 0:
        skipped.append((name, "empty file"))
        return
    if kind == "xlsx":
        for sheet in _xlsx_sheets(opener, name, limits):
            members.append(Member(name, size, kind, sheet, opener))
    else:
        members.append(Member(name, size, kind, None, opener))


def _open_zip(path, limits):
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ExportError("not a readable ZIP archive (truncated or damaged)", file=os.path.basename(path))
    except OSError as exc:
        raise ExportError(f"cannot open the archive ({exc.strerror})", file=os.path.basename(path))
    infos = [i for i in zf.infolist() if not i.is_dir()]
    documents = sum(1 for i in infos if i.filename.lower().endswith(DOCUMENT_EXTENSIONS))
    if len(infos) - documents > limits.max_members:
        zf.close()
        raise ExportError(
            f"{len(infos) - documents} files in the archive besides documents; "
            f"at most {limits.max_members} are accepted"
        )
    if documents > limits.max_documents:
        zf.close()
        raise ExportError(
            f"{documents} documents in the archive; at most {limits.max_documents} are accepted"
        )
    total = 0
    for info in infos:
        if _unsafe(info.filename):
            zf.close()
            raise ExportError("the archive holds a path that escapes its folder; refused", file=info.filename)
        if info.flag_bits & 0x1:
            zf.close()
            raise ExportError("encrypted members are not supported", file=info.filename)
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.max_member_size or (
            info.file_size > limits.ratio_check_above and ratio > limits.max_ratio
        ):
            zf.close()
            raise ExportError(
                f"declared size {info.file_size} bytes (compression ratio {ratio:.0f}) is beyond the limits; "
                "refused as a possible zip bomb",
                file=info.filename,
            )
        total += info.file_size
    if total > limits.max_total_size:
        zf.close()
        raise ExportError(f"the archive inflates to {total} bytes, above the {limits.max_total_size} limit")
    return zf, infos


def open_export(source, limits=None):
    """Open an export and list its data files.

    ``source`` is a path to a ZIP file, a folder (searched recursively), a
    single data file, or a list of file paths. Returns an :class:`Export`
    (a context manager). Raises :class:`ExportError` for truncated or hostile
    archives, missing paths and exports without any data file.
    """
    limits = limits or Limits()
    members, skipped, documents = [], [], []
    zf = None
    if isinstance(source, list | tuple):
        label = ", ".join(str(s) for s in source)
        for path in source:
            path = str(path)
            if not os.path.isfile(path):
                raise ExportError("no such file", file=path)
            _add(
                members,
                skipped,
                os.path.basename(path),
                os.path.getsize(path),
                _file_opener(path),
                limits,
                documents,
            )
    else:
        source = str(source)
        label = source
        if os.path.isdir(source):
            for root, dirs, files in os.walk(source):
                dirs.sort()
                for fname in sorted(files):
                    full = os.path.join(root, fname)
                    rel = os.path.relpath(full, source).replace(os.sep, "/")
                    if os.path.islink(full):
                        skipped.append((rel, "symbolic links are not followed"))
                        continue
                    _add(members, skipped, rel, os.path.getsize(full), _file_opener(full), limits, documents)
        elif os.path.isfile(source):
            with open(source, "rb") as fh:
                magic = fh.read(4)
            if source.lower().endswith(".zip") or (magic == b"PK\x03\x04" and _kind(source) != "xlsx"):
                zf, infos = _open_zip(source, limits)
                for info in sorted(infos, key=lambda i: i.filename):
                    _add(
                        members,
                        skipped,
                        info.filename,
                        info.file_size,
                        _zip_opener(zf, info),
                        limits,
                        documents,
                    )
            else:
                _add(
                    members,
                    skipped,
                    os.path.basename(source),
                    os.path.getsize(source),
                    _file_opener(source),
                    limits,
                )
        else:
            raise ExportError("no such file or folder", file=source)
    if not members:
        if zf is not None:
            zf.close()
        raise ExportError("the export holds no CSV/TXT/XLSX data file", file=label)
    return Export(label, members, skipped, zf, documents=documents)


def _file_opener(path):
    return lambda: open(path, "rb")


def _zip_opener(zf, info):
    limit = info.file_size

    def opener():
        try:
            raw = zf.open(info)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise ExportError(
                f"the archive is damaged or truncated ({type(exc).__name__})", file=info.filename
            )
        return io.BufferedReader(_GuardedReader(raw, limit, info.filename), buffer_size=1 << 16)

    return opener


def read_sample(member, size=SAMPLE_SIZE):
    """Return the first ``size`` bytes of a text member."""
    with member.open() as fh:
        return fh.read(size)


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        return (
            value.strftime("%Y-%m-%d %H:%M:%S")
            if value.time() != datetime.time()
            else value.strftime("%Y-%m-%d")
        )
    if isinstance(value, datetime.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def _xlsx_rows(member):
    """Yield ``(row_number, cells)`` of an XLSX sheet, streaming (openpyxl read_only mode)."""
    import openpyxl

    with tempfile.SpooledTemporaryFile(max_size=64 << 20) as spool:
        with member.open() as fh:
            shutil.copyfileobj(fh, spool)
        spool.seek(0)
        try:
            book = openpyxl.load_workbook(spool, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for damaged workbooks
            raise ExportError(f"the XLSX workbook cannot be read ({type(exc).__name__})", file=member.label)
        try:
            sheet = book[member.sheet]
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                if len(row) > detect.MAX_COLUMNS:
                    raise ExportError(
                        f"more than {detect.MAX_COLUMNS} columns", file=member.label, row=number
                    )
                cells = [_cell(v) for v in row]
                while cells and cells[-1] == "":
                    cells.pop()
                yield number, cells
        finally:
            book.close()


def detect_member(member, *, table=None, delimiter=None, encoding=None, dayfirst=True):
    """Sniff one member (see :func:`.detect.sniff`); returns a :class:`.detect.FileDetection`.

    The detection's ``file`` is the member's label.
    """
    if member.kind == "xlsx":
        numbered = []
        for number, cells in _xlsx_rows(member):
            if cells:
                numbered.append((number, cells))
            if len(numbered) >= 1000:
                break
        return detect.sniff_rows(
            member.label,
            [c for _n, c in numbered],
            table=table,
            dayfirst=dayfirst,
            line_numbers=[n for n, _c in numbered],
            # A sheet does not store trailing empty cells: iter_rows pads them the same way.
            pad_short=True,
        )
    sample = read_sample(member)
    return detect.sniff(
        member.label, sample, table=table, delimiter=delimiter, encoding=encoding, dayfirst=dayfirst
    )


def iter_rows(member, detection, ragged="error"):
    """Stream the data rows of a member as ``(line_number, cells)`` after its header.

    ``detection`` is the member's :class:`.detect.FileDetection` (encoding,
    delimiter, header row). Blank rows are skipped. ``ragged`` decides what a
    row with a different cell count than the header does: ``"error"`` raises
    :class:`ExportError` naming file and row; ``"keep"`` yields it as is so the
    caller can record a finding. Text is decoded with replacement characters,
    so damaged bytes surface as U+FFFD (see :func:`.values.looks_damaged`).
    """
    ncols = len(detection.headers)
    seen = 0
    if member.kind == "xlsx":
        source = _xlsx_rows(member)
    else:
        source = _text_rows(member, detection)
    for number, cells in source:
        if not cells or not any(c.strip() for c in cells):
            continue
        seen += 1
        if seen <= detection.header_row + 1:
            continue
        if len(cells) != ncols:
            if member.kind == "xlsx" and len(cells) < ncols:
                cells = cells + [""] * (ncols - len(cells))
            elif ragged == "error":
                raise ExportError(
                    f"{len(cells)} cells where the header has {ncols}", file=member.label, row=number
                )
        yield number, cells


def _text_rows(member, detection):
    with member.open() as raw:
        if detection.bom_length:
            raw.read(detection.bom_length)
        text = io.TextIOWrapper(raw, encoding=detection.encoding, errors="replace", newline="")
        reader = csv.reader(text, delimiter=detection.delimiter)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ExportError(f"malformed CSV ({exc})", file=member.label, row=reader.line_num)
            if len(row) > detect.MAX_COLUMNS:
                raise ExportError(
                    f"more than {detect.MAX_COLUMNS} cells", file=member.label, row=reader.line_num
                )
            yield reader.line_num, row
