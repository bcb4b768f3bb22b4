from . import bss_import_reason_wizard
