"""The synthetic export generator: determinism, valid identifiers, and a manifest that
matches what an independent re-count finds in the files."""

import csv
import hashlib
import json
from collections import Counter, defaultdict

import pytest

from odoo.addons.bss_import.lib import legacy_codes, mapping, schema, secret_columns, values
from odoo.addons.telecom_subscriber.tools import identifiers

VALIDATORS = mapping.identifier_validators(identifiers)


def _digest(folder):
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_same_seed_same_bytes_whatever_the_parallelism(gen, run, tmp_path, monkeypatch):
    # Small chunks so that 1200 subscribers span several chunks and workers.
    monkeypatch.setattr(gen, "CHUNK", 400)
    args = [
        "--subscribers",
        1200,
        "--seed",
        5,
        "--defects",
        "duplicate_rows=6,orphans=3,secret_columns_dropped=2",
    ]
    run(tmp_path / "a", *args, "--jobs", 1)
    run(tmp_path / "b", *args, "--jobs", 2)
    run(tmp_path / "c", *args[:3], 6, *args[4:], "--jobs", 1)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def _tables(manifest):
    """The tables of an export, in schema order (the history tables only with --customer-history)."""
    written = {info["table"] for info in manifest["files"].values()}
    return [t for t in schema.TABLES if t in written]


def _columns(manifest, table):
    """The canonical columns the generator writes for a table, in order: the owner_id of accounts
    and lines only in an export with the customer history (its owners table)."""
    history = "owners" in _tables(manifest)
    return tuple(
        c.name
        for c in schema.TABLES[table].columns
        if history or not (c.ref and c.ref[0] == "owners" and table in ("billing_accounts", "subscribers"))
    )


def _document_files(folder):
    """{path inside the export: file} of the documents of an exported folder, plus unique bare names."""
    files = {
        str(p.relative_to(folder)).replace("\\", "/"): p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff")
    }
    names = Counter(p.name for p in files.values())
    return {**{p.name: p for p in files.values() if names[p.name] == 1}, **files}


def _document_path(value):
    path = value.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def _read(folder, manifest, table):
    """Rows of a table as lists of str (canonical column order, as the generator writes it)."""
    name, info = next((f, i) for f, i in manifest["files"].items() if i["table"] == table)
    encoding = "utf-8-sig" if info["encoding"] == "utf-8-sig" else info["encoding"]
    with open(folder / name, encoding=encoding, errors="replace", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=info["delimiter"]))
    return name, rows[0], rows[1:]


def _recount(folder, manifest):
    """Find every defect kind in the files without looking at the manifest's items."""
    found = defaultdict(set)  # (kind, table) -> {row numbers}
    data = {t: _read(folder, manifest, t) for t in _tables(manifest)}
    cols = {t: {c: i for i, c in enumerate(_columns(manifest, t))} for t in data}
    keysets = {}
    for table, (_name, _header, rows) in data.items():
        spec = schema.TABLES[table]
        written = [c for c in spec.columns if c.name in cols[table]]
        seen = set()
        for line, row in enumerate(rows, start=2):
            key = tuple(row[cols[table][k]].strip() for k in spec.key)
            if key in seen:
                found[("duplicate_rows", table)].add(line)
            seen.add(key)
            if any(not row[cols[table][c]].strip() for c in spec.mandatory):
                found[("missing_mandatory", table)].add(line)
            if any(values.looks_damaged(cell) for cell in row):
                found[("encoding_damage", table)].add(line)
            for c in written:
                value = row[cols[table][c.name]].strip()
                if c.type in VALIDATORS and value:
                    try:
                        VALIDATORS[c.type](value)
                    except identifiers.IdentifierError:
                        found[(f"invalid_{c.type}", table)].add(line)
        keysets[table] = seen
    for table, (_name, _header, rows) in data.items():
        for c in schema.TABLES[table].references:
            if c.name not in cols[table]:
                continue
            parent_keys = {k[0] for k in keysets[c.ref[0]]}
            kind = "orphans" if c.ref_kind == "entity" else "unknown_legacy_code"
            for line, row in enumerate(rows, start=2):
                value = row[cols[table][c.name]].strip()
                if value and value not in parent_keys:
                    found[(kind, table)].add(line)
    account_status = {}
    for row in data["billing_accounts"][2]:
        account_status[row[0]] = legacy_codes.map_code(
            "billing_accounts", "status", row[cols["billing_accounts"]["status"]]
        )
    sub_cols = cols["subscribers"]
    for line, row in enumerate(data["subscribers"][2], start=2):
        status = legacy_codes.map_code("subscribers", "status", row[sub_cols["status"]])
        if status == "active" and account_status.get(row[sub_cols["account_number"]]) == "closed":
            found[("inconsistent_state", "subscribers")].add(line)
    if "documents" in data:
        documents = _document_files(folder)
        for line, row in enumerate(data["documents"][2], start=2):
            path = _document_path(row[cols["documents"]["file_path"]])
            if path and path not in documents:
                found[("missing_document", "documents")].add(line)
    secret_cols = Counter()
    for table, (_name, header, _rows) in data.items():
        secret_cols[table] = sum(1 for h in header if secret_columns.classify_header(h))
    return found, secret_cols


@pytest.mark.parametrize("dialect", ["canonical", "legacy-upper", "legacy-pipe"])
def test_manifest_matches_an_independent_recount(exports, dialect):
    folder = exports[dialect]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    found, secret_cols = _recount(folder, manifest)
    expected = defaultdict(set)
    for kind, info in manifest["defects"].items():
        if kind == "secret_columns_dropped":
            continue
        for obj, entry in info["objects"].items():
            assert entry["count"] == len(entry["items"])
            for item in entry["items"]:
                assert schema.object_of(item["table"]) == obj
                expected[(kind, item["table"])].add(item["row"])
    assert dict(found) == dict(expected)
    requested = manifest["requested_defects"]
    for kind, info in manifest["defects"].items():
        assert info["total"] == requested[kind], kind
    secret_manifest = {
        obj: entry["count"] for obj, entry in manifest["defects"]["secret_columns_dropped"]["objects"].items()
    }
    assert {t: n for t, n in secret_cols.items() if n} == secret_manifest


def test_defect_rows_never_overlap(exports):
    manifest = json.loads((exports["canonical"] / "manifest.json").read_text(encoding="utf-8"))
    owners = Counter()
    for kind, info in manifest["defects"].items():
        for entry in info["objects"].values():
            for item in entry["items"]:
                if "row" in item:
                    owners[(item["table"], item["row"])] += 1
                    if kind == "duplicate_rows":
                        # The original (the row above the copy) carries no other defect either.
                        owners[(item["table"], item["row"] - 1)] += 1
    assert owners and max(owners.values()) == 1


def test_secret_values_are_listed_and_present_only_in_their_columns(exports):
    folder = exports["legacy-upper"]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    items = [i for e in manifest["defects"]["secret_columns_dropped"]["objects"].values() for i in e["items"]]
    assert sorted(i["kind"] for i in items) == sorted(
        ["ki", "opc", "card_number", "pin1", "puk1", "portal_password"]
    )
    for item in items:
        _name, header, rows = _read(folder, manifest, item["table"])
        pos = header.index(item["column"])
        # Duplicated rows repeat their secrets; every value in the column is listed.
        assert not item["values_truncated"]
        assert set(item["values"]) == {r[pos] for r in rows}
        if item["kind"] in ("ki", "opc"):
            assert all(len(v) == 32 and int(v, 16) >= 0 for v in item["values"])
        if item["kind"] == "card_number":
            assert all(identifiers.luhn_valid(v) and 13 <= len(v) <= 19 for v in item["values"])


def test_clean_export_has_valid_identifiers_and_no_findings(run, tmp_path):
    run(tmp_path, "--subscribers", 600, "--seed", 3, "--market", "US")
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    found, secret_cols = _recount(tmp_path, manifest)
    assert not found and not sum(secret_cols.values())
    _name, _header, rows = _read(tmp_path, manifest, "subscribers")
    cols = schema.TABLES["subscribers"].column_names
    imsis = [r[cols.index("imsi")] for r in rows if r[cols.index("imsi")]]
    assert imsis and all(i.startswith("310150") and len(i) == 15 for i in imsis)
    iccids = [r[cols.index("iccid")] for r in rows if r[cols.index("iccid")]]
    assert all(i.startswith("89") and 19 <= len(i) <= 20 and identifiers.luhn_valid(i) for i in iccids)
    assert all(r[cols.index("msisdn")].startswith("+1") for r in rows)
    assert len(set(imsis)) == len(imsis)


def test_zip_output_with_manifest_next_to_it(run, tmp_path):
    from odoo.addons.bss_import.lib import sources

    target = tmp_path / "export.zip"
    run(target, "--subscribers", 300, "--dialect", "legacy-pipe", "--defects", "orphans=3")
    manifest = json.loads((tmp_path / "export.manifest.json").read_text(encoding="utf-8"))
    with sources.open_export(target) as export:
        assert len(export.members) == 14
        assert all(m.name.startswith("dbss_export_20240630/") for m in export.members)
        member = export.member("dbss_subscriber.txt")
        det = sources.detect_member(member)
        rows = list(sources.iter_rows(member, det))
    assert det.table == "subscribers" and det.delimiter == "|" and det.bom_length == 3
    key = next(f for f in manifest["files"] if f.endswith("dbss_subscriber.txt"))
    assert len(rows) == manifest["files"][key]["rows"]


def test_xlsx_output_reads_back(run, tmp_path):
    from odoo.addons.bss_import.lib import sources

    run(tmp_path, "--subscribers", 120, "--format", "xlsx", "--defects", "encoding_damage=2")
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    with sources.open_export(tmp_path) as export:
        member = export.member("subscribers.xlsx")
        det = sources.detect_member(member)
        rows = list(sources.iter_rows(member, det))
    assert det.table == "subscribers"
    assert len(rows) == manifest["files"]["subscribers.xlsx"]["rows"]
    damaged = [n for n, cells in rows if any(values.looks_damaged(c) for c in cells)]
    items = manifest["defects"]["encoding_damage"]["objects"]["subscribers"]["items"]
    assert damaged == [i["row"] for i in items]


def test_defect_requests_are_validated(run, tmp_path):
    with pytest.raises(SystemExit):
        run(tmp_path, "--defects", "typo_kind=3")
    with pytest.raises(SystemExit):
        # 10 subscribers cannot hold 50 invalid IMSIs.
        run(tmp_path, "--subscribers", 10, "--defects", "invalid_imsi=50")


def _service_types_and_money(folder, manifest):
    _name, _header, subscribers = _read(folder, manifest, "subscribers")
    stype = schema.TABLES["subscribers"].column_names.index("service_type")
    types = Counter(row[stype] for row in subscribers)
    _name, _header, buckets = _read(folder, manifest, "ocs_buckets")
    btype = schema.TABLES["ocs_buckets"].column_names.index("bucket_type")
    return types, sum(row[btype] == "monetary" for row in buckets)


@pytest.mark.parametrize("share", [100, 20, 0])
def test_prepaid_share_sets_the_prepaid_lines_and_their_money_buckets(run, tmp_path, share):
    run(tmp_path / "default", "--subscribers", 2000, "--seed", 5)
    run(tmp_path / "share", "--subscribers", 2000, "--seed", 5, "--prepaid-share", share)
    default, default_money = _service_types_and_money(
        tmp_path / "default", json.loads((tmp_path / "default" / "manifest.json").read_text(encoding="utf-8"))
    )
    types, money = _service_types_and_money(
        tmp_path / "share", json.loads((tmp_path / "share" / "manifest.json").read_text(encoding="utf-8"))
    )
    assert sum(types.values()) == 2000 and money == types["mobile_prepaid"]
    assert default_money == default["mobile_prepaid"] and 0.5 < default["mobile_prepaid"] / 2000 < 0.6
    assert abs(types["mobile_prepaid"] / 2000 - share / 100) < 0.04
    if share < 100:
        # The other types keep their proportions among the rest.
        others = sum(types.values()) - types["mobile_prepaid"]
        default_others = 2000 - default["mobile_prepaid"]
        for kind in ("mobile_postpaid", "fixed_broadband"):
            assert abs(types[kind] / others - default[kind] / default_others) < 0.05


def test_prepaid_share_is_a_percentage(run, tmp_path):
    for share in (-1, 101):
        with pytest.raises(SystemExit):
            run(tmp_path, "--prepaid-share", share)


def _zip_equals_folder(zip_path, folder):
    import zipfile

    with zipfile.ZipFile(zip_path) as zf:
        assert zf.testzip() is None
        names = [i.filename for i in zf.infolist()]
        files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        assert sorted([*names, "manifest.json"]) == files
        for name in names:
            assert zf.read(name) == (folder / name).read_bytes(), name


@pytest.mark.parametrize("dialect", ["legacy-upper", "legacy-pipe"])
def test_zip_members_are_the_folder_files_across_chunks(gen, run, tmp_path, monkeypatch, dialect):
    # Each member's deflate stream is stitched from one piece per chunk: use several chunks.
    monkeypatch.setattr(gen, "CHUNK", 400)
    defects = "duplicate_rows=5,orphans=3"
    args = ["--subscribers", 1100, "--seed", 4, "--dialect", dialect, "--defects", defects]
    run(tmp_path / "folder", *args, "--jobs", 2)
    run(tmp_path / "export.zip", *args, "--jobs", 2)
    _zip_equals_folder(tmp_path / "export.zip", tmp_path / "folder")
    zip_manifest = (tmp_path / "export.manifest.json").read_bytes()
    assert zip_manifest == (tmp_path / "folder" / "manifest.json").read_bytes()


def test_zip64_records_read_back(gen, run, tmp_path, monkeypatch):
    # Sizes above 4 GiB are written as ZIP64 records: force them for every size and offset.
    monkeypatch.setattr(gen, "ZIP64_LIMIT", 0)
    run(tmp_path / "folder", "--subscribers", 200)
    run(tmp_path / "export.zip", "--subscribers", 200)
    _zip_equals_folder(tmp_path / "export.zip", tmp_path / "folder")


def test_crc32_combine(gen):
    import os
    import zlib

    for len_a, len_b in ((0, 0), (7, 0), (0, 9), (1000, 1 << 16), (70000, 3)):
        a, b = os.urandom(len_a), os.urandom(len_b)
        assert gen.crc32_combine(zlib.crc32(a), zlib.crc32(b), len_b) == zlib.crc32(a + b)


def test_invoice_tax_is_rounded_half_up_per_line_as_odoo_does(run, tmp_path):
    # The export's totals are what Odoo computes with a 20 % tax rounded per line: no invoice is
    # off by a cent (the old integer division rounded every tax down).
    from decimal import ROUND_HALF_UP, Decimal

    run(tmp_path, "--subscribers", 400, "--seed", 8)
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    _name, _header, invoices = _read(tmp_path, manifest, "invoices")
    _name, _header, lines = _read(tmp_path, manifest, "invoice_lines")
    cols = schema.TABLES["invoice_lines"].column_names
    icols = schema.TABLES["invoices"].column_names
    tax_of = defaultdict(Decimal)
    net_of = defaultdict(Decimal)
    down = 0
    for line in lines:
        base = Decimal(line[cols.index("quantity")]) * Decimal(line[cols.index("unit_price")])
        exact = base * Decimal(line[cols.index("tax_rate")]) / 100
        tax_of[line[0]] += exact.quantize(Decimal("0.01"), ROUND_HALF_UP)
        net_of[line[0]] += base
        down += exact != exact.quantize(Decimal("0.01"), "ROUND_DOWN")
    assert len(invoices) == 200 and down > 50
    for row in invoices:
        number = row[icols.index("invoice_number")]
        assert Decimal(row[icols.index("amount_tax")]) == tax_of[number], number
        assert Decimal(row[icols.index("amount_untaxed")]) == net_of[number], number
        assert Decimal(row[icols.index("amount_total")]) == net_of[number] + tax_of[number], number
        assert row[icols.index("pdf_file")] == ""
    assert not (tmp_path / "invoice_pdfs").exists()


@pytest.mark.parametrize("dialect", ["canonical", "legacy-pipe"])
def test_invoice_pdfs_are_valid_and_named_by_their_invoices(run, tmp_path, dialect):
    import io

    from odoo.addons.bss_import.lib import sources
    from odoo.tools.pdf import PdfFileReader

    args = ["--subscribers", 50, "--seed", 3, "--dialect", dialect, "--invoice-pdfs", 7]
    run(tmp_path / "folder", *args)
    run(tmp_path / "export.zip", *args)
    manifest = json.loads((tmp_path / "folder" / "manifest.json").read_text(encoding="utf-8"))
    _name, header, invoices = _read(tmp_path / "folder", manifest, "invoices")
    icols = schema.TABLES["invoices"].column_names
    named = {r[icols.index("invoice_number")]: r[icols.index("pdf_file")] for r in invoices}
    with_pdf = {k: v for k, v in named.items() if v}
    # The first 7 billing accounts' invoices, each in invoice_pdfs/ at the export's root.
    assert sorted(with_pdf) == [f"INV{n:09d}" for n in range(1, 8)]
    assert all(v == f"invoice_pdfs/{k}.pdf" for k, v in with_pdf.items())
    assert sorted(p.name for p in (tmp_path / "folder" / "invoice_pdfs").iterdir()) == sorted(
        f"{k}.pdf" for k in with_pdf
    )
    for key, path in with_pdf.items():
        reader = PdfFileReader(io.BytesIO((tmp_path / "folder" / path).read_bytes()))
        assert len(reader.pages) == 1
        assert f"Invoice {key}" in reader.pages[0].extract_text()
    # The ZIP holds the same PDFs; opening the export lists them as documents, not as tables.
    _zip_equals_folder(tmp_path / "export.zip", tmp_path / "folder")
    for source in (tmp_path / "export.zip", tmp_path / "folder"):
        with sources.open_export(source) as export:
            assert len(export.members) == 14
            assert sorted(d.name for d in export.documents) == sorted(with_pdf.values())
            document = export.documents[0]
            with document.open() as fh:
                assert fh.read() == (tmp_path / "folder" / document.name).read_bytes()
    # The column is recognised under the dialect's header.
    from odoo.addons.bss_import.lib import headers

    assert "pdf_file" in headers.canonical_candidates(header[icols.index("pdf_file")])
