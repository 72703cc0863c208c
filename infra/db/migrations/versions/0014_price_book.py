"""Live pricing: a price book per tenant, its sales, and every price change (proposed, approved, applied).

``crm.price_book`` holds one row per product (``sku``) in a branch or tenant-wide: the current price, the unit
cost, the guard rails (bounds, step limit, floor over cost), the mode (``suggest``: a person approves each
change; ``auto``: the repricer applies it) and whether the Thompson explorer may choose within the rails.
``crm.price_sales`` is units sold per period at a price (what demand is fitted on). ``crm.price_changes`` is
the audit of every price the book has had or was offered: who or what proposed it, why, the expected
demand, and what became of it. Aggregates and business data only (no personal data); all three carry
``tid/whid/mid`` under forced RLS. ``vettify_worker`` may see the book's scheduling columns of every tenant
(to find the products due for repricing), nothing else.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | None = None
depends_on: str | None = None

APP_ROLE = "vettify_app"
WORKER_ROLE = "vettify_worker"
TENANT_POLICY = "tid = current_setting('app.tid', true) AND (whid = current_setting('app.whid', true) OR whid IS NULL)"
MONEY = "numeric(14, 2)"

TABLES = {
    "price_book": f"""crm.price_book (
    tid text NOT NULL CHECK (tid <> ''),
    whid text CHECK (whid <> ''),
    mid text NOT NULL CHECK (mid <> ''),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    sku text NOT NULL CHECK (sku ~ '^[A-Za-z0-9_.:/-]{{1,64}}$'),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{{3}}$'),
    price {MONEY} NOT NULL CHECK (price > 0),
    cost {MONEY} NOT NULL CHECK (cost >= 0),
    min_price {MONEY} CHECK (min_price > 0),
    max_price {MONEY} CHECK (max_price > 0),
    max_step numeric(6, 4) NOT NULL DEFAULT 0.10 CHECK (max_step > 0 AND max_step <= 1),
    min_margin numeric(6, 4) NOT NULL DEFAULT 0 CHECK (min_margin >= -1 AND min_margin <= 10),
    mode text NOT NULL DEFAULT 'suggest' CHECK (mode IN ('suggest', 'auto', 'off')),
    explore boolean NOT NULL DEFAULT false,
    elasticity numeric(8, 4) CHECK (elasticity < 0),
    competitor_price {MONEY} CHECK (competitor_price > 0),
    reference_competitor_price {MONEY} CHECK (reference_competitor_price > 0),
    inventory_per_day numeric(14, 3) CHECK (inventory_per_day >= 0),
    reprice_every_s integer NOT NULL DEFAULT 86400 CHECK (reprice_every_s >= 60),
    repriced_at timestamptz,
    last_proposal jsonb,
    PRIMARY KEY (tid, mid, id),
    CHECK (min_price IS NULL OR max_price IS NULL OR min_price <= max_price)
)""",
    "price_sales": f"""crm.price_sales (
    tid text NOT NULL CHECK (tid <> ''),
    whid text CHECK (whid <> ''),
    mid text NOT NULL CHECK (mid <> ''),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    product_id uuid NOT NULL,
    period_start timestamptz NOT NULL,
    period_end timestamptz NOT NULL CHECK (period_end > period_start),
    price {MONEY} NOT NULL CHECK (price > 0),
    units numeric(14, 3) NOT NULL CHECK (units >= 0),
    PRIMARY KEY (tid, mid, id),
    UNIQUE (tid, mid, product_id, period_start, period_end),
    FOREIGN KEY (tid, mid, product_id) REFERENCES crm.price_book (tid, mid, id) ON DELETE CASCADE
)""",
    "price_changes": f"""crm.price_changes (
    tid text NOT NULL CHECK (tid <> ''),
    whid text CHECK (whid <> ''),
    mid text NOT NULL CHECK (mid <> ''),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    product_id uuid NOT NULL,
    old_price {MONEY} NOT NULL,
    new_price {MONEY} NOT NULL CHECK (new_price > 0),
    source text NOT NULL CHECK (source IN ('optimiser', 'explorer', 'manual')),
    status text NOT NULL CHECK (status IN ('proposed', 'applied', 'rejected', 'superseded')),
    reason text NOT NULL,
    expected jsonb,
    proposed_by text NOT NULL,
    decided_by text,
    decided_at timestamptz,
    PRIMARY KEY (tid, mid, id),
    FOREIGN KEY (tid, mid, product_id) REFERENCES crm.price_book (tid, mid, id) ON DELETE CASCADE
)""",
}


def upgrade() -> None:
    for name, table in TABLES.items():
        op.execute(f"CREATE TABLE {table}")
        op.execute(f"ALTER TABLE crm.{name} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE crm.{name} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {name}_tenant_isolation ON crm.{name} USING ({TENANT_POLICY}) WITH CHECK ({TENANT_POLICY})"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON crm.{name} TO {APP_ROLE}")
    op.execute("CREATE UNIQUE INDEX price_book_sku_key ON crm.price_book (tid, mid, (coalesce(whid, '')), sku)")
    op.execute("CREATE INDEX price_book_due_idx ON crm.price_book (repriced_at) WHERE mode <> 'off'")
    op.execute("CREATE INDEX price_sales_product_idx ON crm.price_sales (tid, mid, product_id, period_end)")
    op.execute("CREATE INDEX price_changes_product_idx ON crm.price_changes (tid, mid, product_id, created_at)")
    op.execute(
        "CREATE UNIQUE INDEX price_changes_one_open_proposal ON crm.price_changes (tid, mid, product_id) "
        "WHERE status = 'proposed'"
    )
    op.execute(
        f"GRANT SELECT (tid, whid, mid, id, mode, reprice_every_s, repriced_at) ON crm.price_book TO {WORKER_ROLE}"
    )
    op.execute(f"CREATE POLICY price_book_due_scan ON crm.price_book FOR SELECT TO {WORKER_ROLE} USING (true)")


def downgrade() -> None:
    op.execute("DROP POLICY price_book_due_scan ON crm.price_book")
    op.execute(f"REVOKE ALL ON crm.price_book FROM {WORKER_ROLE}")
    for name in reversed(TABLES):
        op.execute(f"DROP TABLE crm.{name}")
