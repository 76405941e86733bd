"""Audit trail made append-only in the database and tamper-evident (issue 11).

* ``access_auditevent_append_only``: a ``BEFORE UPDATE OR DELETE`` row trigger that raises, so
  ``AuditEvent.objects.filter(...).update()`` / ``.delete()`` and raw SQL fail for every role that is not
  a superuser able to drop the trigger (PostgreSQL docs, "CREATE TRIGGER").
* ``access_auditevent_chain``: a ``BEFORE INSERT`` row trigger that takes a transaction-scoped advisory lock
  (so chain positions follow commit order), sets ``chain_seq`` = previous + 1, ``prev_hash`` = the previous
  event's ``hash`` and ``hash`` = SHA-256 (hex) of ``prev_hash`` and the event's canonical content
  (``access_auditevent_hash``). ``manage.py audit_verify`` recomputes the chain.

Existing rows are chained in ``id`` order before the append-only trigger is installed.
"""
from django.db import migrations, models

HASH_FUNCTION = r"""
CREATE OR REPLACE FUNCTION access_auditevent_hash(
    prev_hash text, at timestamptz, actor_id bigint, action text, object_type text, object_id text,
    before jsonb, after jsonb, message text
) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT encode(sha256(convert_to(
        coalesce(prev_hash, '') || '|' || jsonb_build_array(
            to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            actor_id, action, object_type, object_id, before, after, message
        )::text, 'UTF8')), 'hex')
$$;
"""

CHAIN_TRIGGER = r"""
CREATE OR REPLACE FUNCTION access_auditevent_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_seq bigint;
    last_hash text;
BEGIN
    -- One chain: writers queue here until the previous writer's transaction ends.
    PERFORM pg_advisory_xact_lock(hashtext('access_auditevent_chain'));
    SELECT chain_seq, hash INTO last_seq, last_hash
      FROM access_auditevent WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1;
    NEW.chain_seq := coalesce(last_seq, 0) + 1;
    NEW.prev_hash := coalesce(last_hash, '');
    NEW.hash := access_auditevent_hash(NEW.prev_hash, NEW.at, NEW.actor_id, NEW.action, NEW.object_type,
                                       NEW.object_id, NEW.before, NEW.after, NEW.message);
    RETURN NEW;
END
$$;
CREATE TRIGGER access_auditevent_chain BEFORE INSERT ON access_auditevent
    FOR EACH ROW EXECUTE FUNCTION access_auditevent_chain();
"""

BACKFILL = r"""
DO $$
DECLARE
    r record;
    seq bigint := 0;
    last_hash text := '';
BEGIN
    FOR r IN SELECT * FROM access_auditevent ORDER BY id LOOP
        seq := seq + 1;
        UPDATE access_auditevent SET chain_seq = seq, prev_hash = last_hash,
            hash = access_auditevent_hash(last_hash, r.at, r.actor_id, r.action, r.object_type, r.object_id,
                                          r.before, r.after, r.message)
         WHERE id = r.id RETURNING hash INTO last_hash;
    END LOOP;
END
$$;
"""

APPEND_ONLY = r"""
CREATE OR REPLACE FUNCTION access_auditevent_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused on access_auditevent', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER access_auditevent_append_only BEFORE UPDATE OR DELETE ON access_auditevent
    FOR EACH ROW EXECUTE FUNCTION access_auditevent_refuse_change();
"""

DROP = r"""
DROP TRIGGER IF EXISTS access_auditevent_append_only ON access_auditevent;
DROP TRIGGER IF EXISTS access_auditevent_chain ON access_auditevent;
DROP FUNCTION IF EXISTS access_auditevent_refuse_change();
DROP FUNCTION IF EXISTS access_auditevent_chain();
DROP FUNCTION IF EXISTS access_auditevent_hash(text, timestamptz, bigint, text, text, text, jsonb, jsonb, text);
"""


class Migration(migrations.Migration):

    dependencies = [
        ("access", "0006_grant_revocation_state"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent", name="chain_seq",
            field=models.BigIntegerField(blank=True, editable=False, null=True, unique=True,
                                         help_text="Position in the tamper-evident chain (set by the database)."),
        ),
        migrations.AddField(
            model_name="auditevent", name="prev_hash",
            field=models.CharField(blank=True, editable=False, max_length=64, default="",
                                   help_text="SHA-256 of the previous event in the chain (set by the database)."),
        ),
        migrations.AddField(
            model_name="auditevent", name="hash",
            field=models.CharField(blank=True, editable=False, max_length=64, default="",
                                   help_text="SHA-256 of prev_hash and this event's content (set by the database)."),
        ),
        migrations.RunSQL(HASH_FUNCTION + BACKFILL + CHAIN_TRIGGER + APPEND_ONLY, DROP),
    ]
