"""The one exception the export readers raise."""

__all__ = ["ExportError"]


class ExportError(Exception):
    """An export file cannot be read as it is.

    ``file``, ``row`` (1-based line of the file, header included) and
    ``column`` (header text or 1-based position) locate the problem when known;
    ``str()`` names them so an operator can open the file at the right place.
    The message never contains cell values: they may be personal data or
    secrets.
    """

    def __init__(self, message, file=None, row=None, column=None):
        self.file = file
        self.row = row
        self.column = column
        self.reason = message
        where = []
        if file is not None:
            where.append(f"file {file!r}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
