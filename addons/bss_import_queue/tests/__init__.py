from . import test_migrate_queued
