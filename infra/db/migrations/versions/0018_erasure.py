"""Right to be forgotten and storage limits: erasure requests, a tenant-wide privacy scope, retention
policies, and calls linked to contacts.

* ``crm.erasure_requests``: one row per request (tenant-wide: ``whid`` null); the subject's identifier is kept
  only while the job runs (``subject`` is emptied when it is done) and always as a keyed hash
  (``subject_hash``); ``steps`` records what each step removed, so a restarted job skips what it did. The
  worker role may see which requests are open (``tid, whid, mid, id, state``), nothing else.
* ``<table>_privacy_scope`` policies: a subject's rows may sit in any branch (warehouse) of a tenant, while the
  standard policy shows a transaction only its own branch and tenant-wide rows. A transaction that sets
  ``app.privacy_scope = 'tenant'`` (only ``crm_core.privacy``'s erasure and export do) sees and changes every
  branch of *its own tenant* in the tables a subject's data lives in; another tenant stays invisible.
* ``crm.erase_history(entity_ids, contact_ids, tombstone)``: the audit log, the consent ledger and the e-mail
  events are append-only for the application role; this function (owner's rights, the caller's tenant only)
  replaces the personal parts of their rows with a tombstone and returns how many rows it changed.
* ``ai.behavior_events.contact_id``: the identified visitor of a web step (``contact_id`` in the event), so
  erasure and export find their sessions.
* ``ai.call_analyses.contact_id``: whose call a recording is (optional), for the ``call_analysis`` consent
  check and for erasure; ``not_analysed_reason``: why a call was stored without being analysed (no consent);
  ``crm.privacy_settings.require_call_consent`` (default on): whether a grant is needed or only a withdrawal
  stops analysis. The application role may delete the AI rows derived from a subject.
* Retention: ``crm.privacy_settings`` gains ``mention_text_days``, ``transcript_days`` and ``tracking_days``
  (null: kept); the worker role may see which tenants set one. A mention whose text has expired keeps its
  sentiment and brand but loses text and vector, so ``ai.social_insights.embedding`` may now be null.
  ``crm.expire_email_event_details`` empties the details of the tenant's e-mail events before a time
  (append-only table; owner's rights, the caller's tenant only).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | None = None
depends_on: str | None = None

APP_ROLE = "vettify_app"
WORKER_ROLE = "vettify_worker"
TENANT_POLICY = "tid = current_setting('app.tid', true) AND (whid = current_setting('app.whid', true) OR whid IS NULL)"
PRIVACY_SCOPE = "tid = current_setting('app.tid', true) AND current_setting('app.privacy_scope', true) = 'tenant'"

# Every table a subject's data (or a row derived from it) can live in.
SUBJECT_TABLES = (
    "crm.accounts",
    "crm.contacts",
    "crm.leads",
    "crm.opportunities",
    "crm.activities",
    "crm.audit_log",
    "crm.outbox",
    "crm.campaign_recipients",
    "crm.email_deliveries",
    "crm.email_events",
    "crm.email_suppressions",
    "crm.consent_history",
    "crm.sequence_enrollments",
    "ai.social_insights",
    "ai.call_analyses",
    "ai.call_passages",
    "ai.behavior_events",
    "ai.behavior_patterns",
    "ai.churn_scores",
    "ai.item_interactions",
)
DELETABLE = (
    "ai.social_insights",
    "ai.call_analyses",
    "ai.call_passages",
    "ai.behavior_events",
    "ai.behavior_patterns",
    "ai.churn_scores",
)

ERASE_HISTORY = """
CREATE FUNCTION crm.erase_history(p_entity_ids uuid[], p_contact_ids uuid[], p_tombstone jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tid text := current_setting('app.tid', true);
    v_audit integer;
    v_consents integer;
    v_events integer;
BEGIN
    IF coalesce(v_tid, '') = '' OR current_setting('app.privacy_scope', true) IS DISTINCT FROM 'tenant' THEN
        RAISE EXCEPTION 'crm.erase_history runs only in a tenant transaction with app.privacy_scope = tenant';
    END IF;
    UPDATE crm.audit_log
    SET before = CASE WHEN before IS NULL THEN NULL ELSE p_tombstone END,
        after = CASE WHEN after IS NULL THEN NULL ELSE p_tombstone END
    WHERE tid = v_tid AND entity_id = ANY (p_entity_ids) AND action <> 'erase'
      AND (before IS DISTINCT FROM p_tombstone AND before IS NOT NULL
           OR after IS DISTINCT FROM p_tombstone AND after IS NOT NULL);
    GET DIAGNOSTICS v_audit = ROW_COUNT;
    UPDATE crm.consent_history SET source = 'erased', evidence = '{}'::jsonb
    WHERE tid = v_tid AND contact_id = ANY (p_contact_ids) AND (source <> 'erased' OR evidence <> '{}'::jsonb);
    GET DIAGNOSTICS v_consents = ROW_COUNT;
    UPDATE crm.email_events SET detail = '{}'::jsonb, url = NULL
    WHERE tid = v_tid AND contact_id = ANY (p_contact_ids) AND (detail <> '{}'::jsonb OR url IS NOT NULL);
    GET DIAGNOSTICS v_events = ROW_COUNT;
    RETURN jsonb_build_object('audit_entries', v_audit, 'consent_entries', v_consents, 'email_events', v_events);
END
$$
"""


EXPIRE_EMAIL_EVENT_DETAILS = """
CREATE FUNCTION crm.expire_email_event_details(p_mid text, p_before timestamptz, p_limit integer)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tid text := current_setting('app.tid', true);
    v_count integer;
BEGIN
    IF coalesce(v_tid, '') = '' OR current_setting('app.privacy_scope', true) IS DISTINCT FROM 'tenant' THEN
        RAISE EXCEPTION 'crm.expire_email_event_details runs only in a tenant transaction with app.privacy_scope';
    END IF;
    UPDATE crm.email_events SET detail = '{}'::jsonb, url = NULL
    WHERE ctid IN (
        SELECT ctid FROM crm.email_events
        WHERE tid = v_tid AND mid = p_mid AND occurred_at < p_before AND (detail <> '{}'::jsonb OR url IS NOT NULL)
        LIMIT p_limit
    );
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$
"""
EXPIRING = {  # what retention empties in the otherwise insert-only AI tables
    "ai.social_insights": ("text", "author", "url", "aspects", "embedding"),
    "ai.call_analyses": ("transcript", "embedding", "keywords", "aspects", "analysis"),
}
RETENTION_COLUMNS = ("mention_text_days", "transcript_days", "tracking_days")


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE crm.erasure_requests (
            tid text NOT NULL CHECK (tid <> ''),
            whid text CHECK (whid IS NULL),
            mid text NOT NULL CHECK (mid <> ''),
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            subject_kind text NOT NULL CHECK (subject_kind IN ('contact', 'email', 'handle')),
            subject text,
            subject_hash text NOT NULL,
            state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
            steps jsonb NOT NULL DEFAULT '{}'::jsonb,
            attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            last_error text,
            requested_by text NOT NULL,
            completed_at timestamptz,
            certificate jsonb,
            CHECK ((state = 'done') = (subject IS NULL)),
            PRIMARY KEY (tid, mid, id)
        )"""
    )
    op.execute("CREATE INDEX erasure_requests_open_idx ON crm.erasure_requests (tid, mid) WHERE state <> 'done'")
    op.execute("ALTER TABLE crm.erasure_requests ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE crm.erasure_requests FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY erasure_requests_tenant_isolation ON crm.erasure_requests "
        f"USING ({TENANT_POLICY}) WITH CHECK ({TENANT_POLICY})"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON crm.erasure_requests TO {APP_ROLE}")
    op.execute(f"GRANT SELECT (tid, whid, mid, id, state) ON crm.erasure_requests TO {WORKER_ROLE}")
    op.execute(
        f"CREATE POLICY erasure_requests_open_scan ON crm.erasure_requests FOR SELECT TO {WORKER_ROLE} "
        "USING (state IN ('pending', 'running'))"
    )
    for table in SUBJECT_TABLES:
        short = table.split(".")[1]
        op.execute(
            f"CREATE POLICY {short}_privacy_scope ON {table} USING ({PRIVACY_SCOPE}) WITH CHECK ({PRIVACY_SCOPE})"
        )
    for table in DELETABLE:
        op.execute(f"GRANT DELETE ON {table} TO {APP_ROLE}")
    op.execute("ALTER TABLE ai.call_analyses ADD COLUMN contact_id uuid, ADD COLUMN not_analysed_reason text")
    op.execute("ALTER TABLE ai.behavior_events ADD COLUMN contact_id uuid")
    op.execute(
        "CREATE INDEX behavior_events_contact_idx ON ai.behavior_events (tid, mid, contact_id) "
        "WHERE contact_id IS NOT NULL"
    )
    op.execute("ALTER TABLE crm.privacy_settings ADD COLUMN require_call_consent boolean NOT NULL DEFAULT true")
    op.execute(
        "CREATE INDEX call_analyses_contact_idx ON ai.call_analyses (tid, mid, contact_id) WHERE contact_id IS NOT NULL"
    )
    op.execute("CREATE INDEX social_insights_author_idx ON ai.social_insights (tid, mid, author)")
    op.execute("CREATE INDEX audit_log_entity_id_idx ON crm.audit_log (tid, mid, entity_id)")
    op.execute("ALTER TABLE ai.social_insights ALTER COLUMN embedding DROP NOT NULL")
    for table, columns in EXPIRING.items():
        op.execute(f"GRANT UPDATE ({', '.join(columns)}) ON {table} TO {APP_ROLE}")
    for column in RETENTION_COLUMNS:
        op.execute(f"ALTER TABLE crm.privacy_settings ADD COLUMN {column} integer CHECK ({column} BETWEEN 1 AND 36500)")
    op.execute(
        f"GRANT SELECT (tid, whid, mid, {', '.join(RETENTION_COLUMNS)}) ON crm.privacy_settings TO {WORKER_ROLE}"
    )
    op.execute(
        f"CREATE POLICY privacy_settings_retention_scan ON crm.privacy_settings FOR SELECT TO {WORKER_ROLE} "
        f"USING ({' OR '.join(f'{c} IS NOT NULL' for c in RETENTION_COLUMNS)})"
    )
    op.execute(EXPIRE_EMAIL_EVENT_DETAILS)
    op.execute("REVOKE ALL ON FUNCTION crm.expire_email_event_details(text, timestamptz, integer) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION crm.expire_email_event_details(text, timestamptz, integer) TO {APP_ROLE}")
    op.execute(ERASE_HISTORY)
    op.execute("REVOKE ALL ON FUNCTION crm.erase_history(uuid[], uuid[], jsonb) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION crm.erase_history(uuid[], uuid[], jsonb) TO {APP_ROLE}")


def downgrade() -> None:
    op.execute("DROP FUNCTION crm.expire_email_event_details(text, timestamptz, integer)")
    op.execute("DROP POLICY privacy_settings_retention_scan ON crm.privacy_settings")
    op.execute(f"REVOKE ALL ON crm.privacy_settings FROM {WORKER_ROLE}")
    for column in RETENTION_COLUMNS:
        op.execute(f"ALTER TABLE crm.privacy_settings DROP COLUMN {column}")
    for table, columns in EXPIRING.items():
        op.execute(f"REVOKE UPDATE ({', '.join(columns)}) ON {table} FROM {APP_ROLE}")
    op.execute("DELETE FROM ai.social_insights WHERE embedding IS NULL")  # expired text: no vector to restore
    op.execute("ALTER TABLE ai.social_insights ALTER COLUMN embedding SET NOT NULL")
    op.execute("DROP FUNCTION crm.erase_history(uuid[], uuid[], jsonb)")
    op.execute("DROP INDEX crm.audit_log_entity_id_idx")
    op.execute("DROP INDEX ai.social_insights_author_idx")
    op.execute("ALTER TABLE crm.privacy_settings DROP COLUMN require_call_consent")
    op.execute("ALTER TABLE ai.behavior_events DROP COLUMN contact_id")
    op.execute("ALTER TABLE ai.call_analyses DROP COLUMN contact_id, DROP COLUMN not_analysed_reason")
    for table in DELETABLE:
        op.execute(f"REVOKE DELETE ON {table} FROM {APP_ROLE}")
    for table in reversed(SUBJECT_TABLES):
        op.execute(f"DROP POLICY {table.split('.')[1]}_privacy_scope ON {table}")
    op.execute(f"REVOKE ALL ON crm.erasure_requests FROM {WORKER_ROLE}")
    op.execute("DROP TABLE crm.erasure_requests")
