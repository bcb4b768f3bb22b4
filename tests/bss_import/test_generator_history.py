"""The generator's --customer-history: owners, numbers and ports, interactions and documents (with
their files inside the export), whose defects the manifest lists exactly; without the option the
export is the one it always was."""

import datetime
import hashlib
import io
import json
from collections import Counter, defaultdict

import pytest
from conftest import DEFECTS, run_generator
from test_generator import _columns, _document_files, _document_path, _read, _recount, _zip_equals_folder

from odoo.addons.bss_import.lib import detect, mapping, schema, sources
from odoo.addons.telecom_subscriber.tools import identifiers

HISTORY_DEFECTS = DEFECTS + ",missing_document=4"
DIALECTS = ("canonical", "legacy-upper", "legacy-pipe")
SUBSCRIBERS = 1500
HISTORY_TABLES = ("owners", "numbers", "number_ports", "interactions", "documents")


@pytest.fixture(scope="module")
def history(gen, tmp_path_factory):
    """One export with the customer history and every defect kind per dialect: {dialect: folder}.

    Chunks of 600 lines, so the documents and defects of several chunks are stitched together.
    """
    chunk, gen.CHUNK = gen.CHUNK, 600
    try:
        out = {}
        for dialect in DIALECTS:
            folder = tmp_path_factory.mktemp(f"history-{dialect}")
            run_generator(
                gen,
                folder,
                "--subscribers",
                SUBSCRIBERS,
                "--seed",
                11,
                "--dialect",
                dialect,
                "--defects",
                HISTORY_DEFECTS,
                "--customer-history",
                "--jobs",
                2,
            )
            out[dialect] = folder
        return out
    finally:
        gen.CHUNK = chunk


def _manifest(folder):
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def _dicts(folder, manifest, table):
    _name, _header, rows = _read(folder, manifest, table)
    names = _columns(manifest, table)
    return [dict(zip(names, row, strict=False)) for row in rows]


def _items(manifest, kind, table):
    obj = schema.object_of(table)
    return [
        i for i in manifest["defects"][kind]["objects"].get(obj, {}).get("items", []) if i["table"] == table
    ]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_history_manifest_matches_an_independent_recount(history, dialect):
    folder = history[dialect]
    manifest = _manifest(folder)
    found, _secret_cols = _recount(folder, manifest)
    expected = defaultdict(set)
    for kind, info in manifest["defects"].items():
        assert info["total"] == manifest["requested_defects"][kind], kind
        if kind == "secret_columns_dropped":
            continue
        for obj, entry in info["objects"].items():
            assert entry["count"] == len(entry["items"])
            for item in entry["items"]:
                assert schema.object_of(item["table"]) == obj
                expected[(kind, item["table"])].add(item["row"])
    assert dict(found) == dict(expected)
    # Every history table received defects, and missing_document is a kind of its own.
    hit = {table for (_kind, table) in expected}
    assert {"numbers", "number_ports", "interactions", "documents"} <= hit
    assert len(expected[("missing_document", "documents")]) == 4
    assert expected[("orphans", "interactions")] and expected[("invalid_msisdn", "numbers")]
    assert set(_tables_written(manifest)) == set(schema.TABLES)


def _tables_written(manifest):
    return [info["table"] for info in manifest["files"].values()]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_documents_are_files_of_the_export_except_the_missing_ones(history, dialect):
    from PIL import Image

    from odoo.tools.pdf import PdfFileReader

    folder = history[dialect]
    manifest = _manifest(folder)
    files = _document_files(folder)
    missing = {i["key"] for i in _items(manifest, "missing_document", "documents")}
    emptied = {i["key"] for i in _items(manifest, "missing_mandatory", "documents")}
    kinds = Counter()
    rows = _dicts(folder, manifest, "documents")
    for row in rows:
        path = _document_path(row["file_path"])
        if row["document_id"] in missing:
            assert path and path not in files, row
            continue
        if row["document_id"] in emptied:
            assert not path
            continue
        if dialect == "legacy-upper":
            assert "\\" in row["file_path"] and "/" not in row["file_path"]
        elif dialect == "legacy-pipe":
            assert row["file_path"].startswith("./")
        data = files[path].read_bytes()
        if path.endswith(".pdf"):
            assert len(PdfFileReader(io.BytesIO(data)).pages) == 1
            assert row["document_type"] == "contract"
        else:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                assert image.format == ("PNG" if path.endswith(".png") else "JPEG")
            assert row["document_type"] == "id_scan"
        kinds[path.rsplit(".", 1)[1]] += 1
        # The original name is not the stored one; the date is one the dialect writes.
        assert row["file_name"] and row["file_name"] != path.rsplit("/", 1)[1]
    assert kinds["pdf"] and kinds["png"] and kinds["jpg"]
    # Only the documents rows name files: no file of the export is left unnamed.
    named = {_document_path(r["file_path"]) for r in rows}
    assert {p for p in files if "/" in p} == named - {""} - {
        _document_path(r["file_path"]) for r in rows if r["document_id"] in missing
    }
    assert manifest["documents"] == len({p for p in files if "/" in p})


def test_documents_travel_in_the_zip_and_open_as_documents(run, tmp_path):
    args = ["--subscribers", 400, "--seed", 6, "--customer-history", "--invoice-pdfs", 3]
    args += ["--dialect", "legacy-pipe", "--defects", "missing_document=2,duplicate_rows=3"]
    run(tmp_path / "folder", *args)
    run(tmp_path / "export.zip", *args)
    _zip_equals_folder(tmp_path / "export.zip", tmp_path / "folder")
    manifest = _manifest(tmp_path / "folder")
    for source in (tmp_path / "export.zip", tmp_path / "folder"):
        with sources.open_export(source) as export:
            assert len(export.members) == len(schema.TABLES)
            names = sorted(d.name for d in export.documents)
    assert len(names) == manifest["documents"] + 3
    assert any(n.endswith(".png") for n in names) and any(n.endswith(".jpg") for n in names)


def test_numbers_are_consistent_with_the_lines(history):
    folder = history["canonical"]
    manifest = _manifest(folder)
    subs = {r["subscriber_id"]: r for r in _dicts(folder, manifest, "subscribers")}
    bad_subs = {
        i["key"]
        for kind in ("missing_mandatory", "invalid_msisdn")
        for i in _items(manifest, kind, "subscribers")
        if i.get("column") == "msisdn"
    }
    damaged = {
        i["key"]
        for kind in ("missing_mandatory", "invalid_msisdn")
        for i in _items(manifest, kind, "numbers")
    }
    numbers = _dicts(folder, manifest, "numbers")
    statuses = Counter(r["status"] for r in numbers)
    by_sub = Counter()
    export_day = "2024-06-30"
    for row in numbers:
        if row["msisdn"] in damaged:
            continue
        identifiers.normalize_msisdn(row["msisdn"])
        if row["status"] == "assigned":
            line = subs[row["subscriber_id"]]
            by_sub[row["subscriber_id"]] += 1
            assert line["status"] != "terminated"
            assert row["assigned_date"] == line["activation_date"]
            if row["subscriber_id"] not in bad_subs:
                assert line["msisdn"] == row["msisdn"]
        else:
            assert not row["subscriber_id"] and not row["assigned_date"], row
        assert bool(row["aging_date"]) == (row["status"] == "aging"), row
        assert row["aging_date"] <= export_day
    # Each line that is not terminated holds one number (a duplicated row repeats it); the lines
    # whose status was made inconsistent are terminated ones shown as active.
    dup_subs = {
        r["subscriber_id"]
        for r in numbers
        if r["msisdn"] in {i["key"] for i in _items(manifest, "duplicate_rows", "numbers")}
    }
    skipped = {r["subscriber_id"] for r in numbers if r["msisdn"] in damaged}
    skipped |= {i["key"] for i in _items(manifest, "inconsistent_state", "subscribers")}
    live = {k for k, r in subs.items() if r["status"] != "terminated"} - skipped
    assert dict(by_sub) == {k: 1 + (k in dup_subs) for k in live}
    assert set(statuses) == {"assigned", "aging", "available", "reserved", "quarantined_released"} | (
        {""} if damaged else set()
    )
    # The spare pool: the numbers beyond one per line.
    spare = len({r["msisdn"] for r in numbers}) - SUBSCRIBERS
    assert 0.08 < spare / SUBSCRIBERS < 0.12


def test_ports_are_consistent(history):
    folder = history["canonical"]
    manifest = _manifest(folder)
    numbers = {r["msisdn"]: r for r in _dicts(folder, manifest, "numbers")}
    ports = _dicts(folder, manifest, "number_ports")
    defective = {
        i["key"] for kind in ("missing_mandatory", "orphans") for i in _items(manifest, kind, "number_ports")
    }
    dups = len(_items(manifest, "duplicate_rows", "number_ports"))
    assert 0.03 < len(ports) / len(numbers) < 0.08
    txns = Counter(r["transaction_id"] for r in ports)
    assert sum(txns.values()) - len(txns) == dups
    released = {m for m, r in numbers.items() if r["status"] == "quarantined_released"}
    completed_out = set()
    states = Counter()
    for row in ports:
        number = numbers[row["msisdn"]]
        if row["port_id"] in defective:
            continue
        states[(row["direction"], row["state"])] += 1
        assert row["request_date"] <= (row["completion_date"] or "9999")
        assert bool(row["completion_date"]) == (row["state"] == "completed")
        assert bool(row["rejection_code"]) == (row["state"] == "rejected")
        if row["direction"] == "in":
            assert row["recipient_operator"] == "Acme Mobile" and row["donor_operator"] != "Acme Mobile"
            if row["state"] == "completed":
                assert number["status"] in ("assigned", "aging", "")
                assert row["subscriber_id"] and row["completion_date"] <= "2024-06-30"
        else:
            assert row["donor_operator"] == "Acme Mobile"
            if row["state"] == "completed":
                completed_out.add(row["msisdn"])
                assert number["status"] == "quarantined_released" and not row["subscriber_id"]
    assert completed_out == released - {r["msisdn"] for r in ports if r["port_id"] in defective}
    assert {("in", "completed"), ("in", "rejected"), ("in", "cancelled"), ("out", "completed")} <= set(states)


def test_owners_interactions_and_volumes(history):
    folder = history["canonical"]
    manifest = _manifest(folder)
    owners = _dicts(folder, manifest, "owners")
    assert len(owners) == max(6, SUBSCRIBERS // 250)
    assert {o["owner_type"] for o in owners} == set(schema.OWNER_TYPES)
    assert all(o["email"] == f"{o['owner_type']}{n:03d}@legacy-bss.example" for n, o in enumerate(owners, 1))
    ids = {o["owner_id"] for o in owners}
    for table in ("billing_accounts", "subscribers"):
        owned = [r["owner_id"] for r in _dicts(folder, manifest, table)]
        assert set(owned) - {""} <= ids
        assert 0.7 < sum(map(bool, owned)) / len(owned) < 0.95
    interactions = _dicts(folder, manifest, "interactions")
    assert 1.3 < len(interactions) / SUBSCRIBERS < 1.7
    assert {r["channel"] for r in interactions} >= set(schema.INTERACTION_CHANNELS)
    on_accounts = [r for r in interactions if not r["subscriber_id"]]
    assert on_accounts and all(r["account_number"] for r in on_accounts)
    orphans = {i["key"] for i in _items(manifest, "orphans", "interactions")}
    authors = [r["author_id"] for r in interactions if r["interaction_id"] not in orphans]
    assert set(authors) - {""} <= ids and 0.9 < sum(map(bool, authors)) / len(authors) < 1
    assert {r["author_id"] for r in interactions if r["interaction_id"] in orphans}.isdisjoint(ids)
    scheduled = [r for r in interactions if r["status"] == "scheduled"]
    assert scheduled and all(r["due_date"] > "2024-06-30" and r["assigned_to"] in ids for r in scheduled)
    done = [r for r in interactions if r["status"] == "done" and r["occurred_at"]]
    assert len(done) > 0.9 * len(interactions) and all(
        r["occurred_at"] <= "2024-06-30 23:59:59" for r in done
    )
    assert all(not r["due_date"] and not r["assigned_to"] for r in done)
    documents = _dicts(folder, manifest, "documents")
    assert 0.25 < len(documents) / SUBSCRIBERS < 0.35
    assert any(not r["subscriber_id"] and r["account_number"] for r in documents)
    datetime.datetime.fromisoformat(documents[0]["document_date"])


@pytest.mark.parametrize("dialect", ("legacy-upper", "legacy-pipe"))
def test_history_files_are_detected_and_their_columns_mapped(history, dialect):
    folder = history[dialect]
    manifest = _manifest(folder)
    validators = mapping.identifier_validators(identifiers)
    with sources.open_export(folder) as export:
        for member in export.members:
            table = manifest["files"][member.name]["table"]
            if table not in (*HISTORY_TABLES, "billing_accounts", "subscribers"):
                continue
            det = sources.detect_member(member)
            assert det.table == table, member.name
            assert detect.detect_table(member.name, det.headers)[0][0] == table
            rows = [cells for _n, cells in list(sources.iter_rows(member, det))[:300]]
            suggestion = mapping.suggest_mapping(table, det.headers, rows, validators).by_canonical()
            for canonical, header in zip(_columns(manifest, table), det.headers, strict=False):
                if table in HISTORY_TABLES or canonical == "owner_id":
                    assert suggestion[canonical].header == header, (member.name, canonical)


def test_without_history_the_export_is_byte_for_byte_the_one_before(run, tmp_path):
    # Digest of the export the generator wrote before --customer-history existed (same options).
    run(
        tmp_path,
        *("--subscribers", 700, "--seed", 2, "--dialect", "legacy-upper", "--invoice-pdfs", 3, "--jobs", 1),
        "--defects",
        "duplicate_rows=4,orphans=3,missing_mandatory=3,encoding_damage=2,invalid_msisdn=2,secret_columns_dropped=3",
    )
    lines = "".join(
        f"{p.relative_to(tmp_path).as_posix()}:{hashlib.sha256(p.read_bytes()).hexdigest()}\n"
        for p in sorted(tmp_path.rglob("*"))
        if p.is_file()
    )
    assert hashlib.sha256(lines.encode()).hexdigest() == (
        "95fd22efe7862627674d3af7a585c1d1c6306129133a675fccfaba4acdf39ca3"
    )
    manifest = _manifest(tmp_path)
    assert set(_tables_written(manifest)).isdisjoint(
        ("owners", "numbers", "number_ports", "interactions", "documents")
    )
    assert "missing_document" not in manifest["defects"] and "customer_history" not in manifest


def test_history_leaves_the_other_tables_as_they_were(run, tmp_path):
    args = ["--subscribers", 500, "--seed", 9, "--dialect", "legacy-pipe", "--invoice-pdfs", 2]
    run(tmp_path / "off", *args)
    run(tmp_path / "on", *args, "--customer-history")
    off, on = _manifest(tmp_path / "off"), _manifest(tmp_path / "on")
    for name, info in off["files"].items():
        assert on["files"][name]["rows"] == info["rows"]
        _n, _h, rows_off = _read(tmp_path / "off", off, info["table"])
        _n, header_on, rows_on = _read(tmp_path / "on", on, info["table"])
        if info["table"] in ("billing_accounts", "subscribers"):
            # The same rows with the owner column after the canonical ones.
            pos = len(_columns(off, info["table"]))
            assert header_on[pos] in ("AccountManager", "SalesAgent")
            rows_on = [r[:pos] + r[pos + 1 :] for r in rows_on]
        assert rows_on == rows_off, name


def test_missing_document_needs_the_history(run, tmp_path):
    with pytest.raises(SystemExit):
        run(tmp_path, "--subscribers", 50, "--defects", "missing_document=1")
