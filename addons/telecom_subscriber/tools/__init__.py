# Plain-Python helpers with no ORM import: unit-tested with pytest, used by the
# models of this module and by the importer.
from . import codes, identifiers
