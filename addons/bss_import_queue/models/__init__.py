from . import bss_import_run
