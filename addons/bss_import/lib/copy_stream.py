"""Turning streamed export rows into the input of PostgreSQL ``COPY ... FROM STDIN (FORMAT csv)``.

:class:`CopyStream` is a read-only file object over an iterator of
``(line_number, cells)`` rows: ``psycopg2``'s ``copy_expert`` pulls bytes from
it, so memory stays flat whatever the size of the file. Each output record is
``line, damaged, kept cells...``: the source line number (for findings that
name rows), whether the row shows encoding damage, then only the cells of the
kept columns. Columns dropped as secrets never leave this module.

>>> rows = iter([(2, ["a", "Ki", "x\\ty"]), (3, ["JosÃ©", "Ki", ""])])
>>> stream = CopyStream(rows, keep=[0, 2])
>>> stream.read().decode()
'2,f,a,x\\ty\\r\\n3,t,JosÃ©,\\r\\n'
>>> stream.rows
2
"""

import csv
import io
import operator

from .values import looks_damaged

__all__ = ["CopyStream", "column_name", "keep_indexes"]

# Cells are joined to check a whole row at once; the unit separator cannot take
# part in a mojibake match, so damage is never seen across two cells.
_SEP = "\x1f"


def column_name(index):
    """Staging column holding the source column at ``index`` (0-based)."""
    return f"c{index}"


def keep_indexes(ncols, dropped):
    """Return the source column indexes that are staged (all but the ``dropped`` ones)."""
    dropped = set(dropped)
    return [i for i in range(ncols) if i not in dropped]


class CopyStream(io.RawIOBase):
    """Bytes of a CSV ``COPY`` input, produced on demand from ``(line, cells)`` rows.

    ``keep`` lists the indexes of the cells to stage. NUL characters (which
    PostgreSQL text cannot hold) become U+FFFD and so count as damage.
    ``on_rows(n)`` is called every ``report_every`` rows (progress).
    """

    def __init__(self, rows, keep, on_rows=None, report_every=50000):
        super().__init__()
        self._rows = rows
        self._keep = list(keep)
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")
        self._pending = b""
        self._done = False
        self._on_rows = on_rows
        self._report_every = report_every
        self.rows = 0
        #: The exception the rows raised, if any: the COPY driver reports it as
        #: its own error, so the caller re-raises this one.
        self.error = None

    def readable(self):
        return True

    def _fill(self, size):
        write = self._writer.writerow
        keep = self._keep
        width = max(keep) + 1 if keep else 0
        if not keep:
            pick = lambda cells: []  # noqa: E731
        elif len(keep) == 1:
            pick = lambda cells, i=keep[0]: [cells[i]]  # noqa: E731
        else:
            pick = operator.itemgetter(*keep)
        buf = self._buffer
        while buf.tell() < size:
            try:
                line, cells = next(self._rows)
            except StopIteration:
                self._done = True
                break
            if len(cells) >= width:
                kept = pick(cells)
            else:
                kept = [cells[i] if i < len(cells) else "" for i in keep]
            joined = _SEP.join(kept)
            if "\x00" in joined:
                kept = [c.replace("\x00", "\ufffd") for c in kept]
                joined = _SEP.join(kept)
            damaged = "t" if looks_damaged(joined) else "f"
            write([line, damaged, *kept])
            self.rows += 1
            if self._on_rows and self.rows % self._report_every == 0:
                self._on_rows(self.rows)
        data = buf.getvalue().encode("utf-8")
        buf.seek(0)
        buf.truncate()
        return data

    def read(self, size=-1):  # pylint: disable=method-required-super
        if size is None or size < 0:
            chunks = [self._pending]
            self._pending = b""
            while not self._done:
                try:
                    chunks.append(self._fill(1 << 20))
                except Exception as exc:
                    self.error = exc
                    raise
            return b"".join(chunks)
        while len(self._pending) < size and not self._done:
            try:
                self._pending += self._fill(max(size, 1 << 16))
            except Exception as exc:
                self.error = exc
                raise
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def readinto(self, buffer):
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
