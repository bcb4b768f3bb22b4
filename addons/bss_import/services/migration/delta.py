"""What a delta pass finds once its phases ran: the records earlier passes migrated that its export
no longer has (vanished), reported and, when the operator chose so, archived.

Set-based: one anti-join per object between the links of the run's passes
and the keys staged by the delta pass (every staged key counts, quarantined
rows included: a row the pass refused did not vanish from the source).
"""

from odoo.tools import SQL

from ...lib import schema

#: Archived in one write per batch of records (contacts, products).
ARCHIVE_BATCH = 1000


def staged_keys_sql(phase):
    """SQL of the source keys the phase's staged rows hold (each once)."""
    keys = [SQL.identifier(k) for k in phase.spec.key]
    present = SQL(" AND ").join(SQL("%s IS NOT NULL", k) for k in keys)
    return SQL(
        "SELECT DISTINCT concat_ws('/', %s) AS _key FROM (%s) s WHERE %s",
        SQL(", ").join(keys),
        phase.source_sql(),
        present,
    )


def vanished(phase, pass_ids):
    """[(source key, record id, model)] of the records of the phase's object (of any of its models)
    that a pass of ``pass_ids`` created or wrote, whose key the phase's staged rows no longer have and
    that this pass has not reported yet (a pass run again reports each once)."""
    ctx = phase.ctx
    ctx.env.flush_all()
    ctx.env.cr.execute(
        SQL(
            """SELECT l.source_key, l.res_id, l.res_model FROM bss_import_link l
                WHERE l.company_id = %(company)s AND l.object = %(object)s AND l.res_model = ANY(%(models)s)
                  AND (l.created_run_id = ANY(%(passes)s) OR l.last_run_id = ANY(%(passes)s))
                  AND NOT EXISTS (SELECT 1 FROM (%(keys)s) k WHERE k._key = l.source_key)
                  AND NOT EXISTS (SELECT 1 FROM bss_import_change c
                                   WHERE c.run_id = %(run)s AND c.kind = 'vanished'
                                     AND c.object = l.object AND c.source_key = l.source_key)
             ORDER BY l.source_key""",
            company=ctx.company.id,
            object=phase.object,
            models=list(phase.models or (phase.model,)),
            passes=list(pass_ids),
            keys=staged_keys_sql(phase),
            run=ctx.run.id,
        )
    )
    return ctx.env.cr.fetchall()


def report_vanished(phase, pass_ids, archive):
    """List the vanished records of the phase's object as changes of the pass; archive the active
    ones when ``archive`` and the model can archive. Returns (vanished, archived)."""
    ctx = phase.ctx
    found = vanished(phase, pass_ids)
    if not found:
        return 0, 0
    archived = set()
    for model in {model for _key, _id, model in found}:
        Model = ctx.env[model]
        if not (archive and "active" in Model._fields):
            continue
        ids = [res_id for _key, res_id, of in found if of == model]
        for start in range(0, len(ids), ARCHIVE_BATCH):
            records = Model.browse(ids[start : start + ARCHIVE_BATCH]).exists().filtered("active")
            records.write({"active": False})
            archived.update((model, record_id) for record_id in records.ids)
    ctx.env["bss.import.change"].create(
        [
            {
                "run_id": ctx.run.id,
                "object": phase.object,
                "sequence": schema.OBJECTS.index(phase.object),
                "kind": "vanished",
                "source_key": key,
                "res_model": model,
                "res_id": res_id,
                "field_name": "active" if (model, res_id) in archived else False,
                "old_value": "true" if (model, res_id) in archived else False,
                "new_value": "false" if (model, res_id) in archived else False,
                "archived": (model, res_id) in archived,
            }
            for key, res_id, model in found
        ]
    )
    return len(found), len(archived)
