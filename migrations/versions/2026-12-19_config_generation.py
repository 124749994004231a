"""config generation: one number that every write of the cached pricing configuration bumps

Processes keep tax rates, shipping methods and automatic promotions in memory
(shop/core/config_cache.py) and check this number, read with the request's clock, before using
them. Triggers replace it (with a random number) in the writing transaction, whatever makes the
write. A write that skips triggers (pg_restore --disable-triggers) must be followed by
`UPDATE config_generation SET generation = floor(random() * 9e18)::bigint`. A promotion's `uses`
counter (taken by every checkout) and its `updated_at` are not configuration: changing only those
leaves the number alone, so checkouts never queue on its row.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-19
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table a cached reading comes from; the promotion table has its own update trigger below.
WATCHED = ("tax_class", "tax_rate", "shipping_zone", "shipping_zone_country", "shipping_method", "promotion")
NOT_CONFIGURATION = "- 'uses' - 'updated_at'"
# A random number, never the previous one plus one: a number a rolled-back bump, a restored backup
# or a re-run migration handed out before must not come back naming other data.
NEW_GENERATION = "floor(random() * 9e18)::bigint"
# SET search_path FROM CURRENT: a writer with another search path (a pg_dump script replayed by
# psql sets it empty) still finds the table.
BUMP_FUNCTION = f"""
CREATE FUNCTION bump_config_generation() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE config_generation SET generation = {NEW_GENERATION} WHERE id = 1;
    RETURN NULL;
END
$$
"""  # noqa: S608  (constants)


def upgrade() -> None:
    op.create_table(
        "config_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_config_generation_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_generation")),
    )
    op.execute(f"INSERT INTO config_generation (id, generation) VALUES (1, {NEW_GENERATION})")  # noqa: S608  (constants)
    op.execute(BUMP_FUNCTION)
    for table in WATCHED:
        events = "INSERT OR DELETE OR TRUNCATE" if table == "promotion" else "INSERT OR UPDATE OR DELETE OR TRUNCATE"
        op.execute(
            f"CREATE TRIGGER {table}_config_generation AFTER {events} ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION bump_config_generation()"
        )
    op.execute(
        "CREATE TRIGGER promotion_update_config_generation AFTER UPDATE ON promotion FOR EACH ROW"
        f" WHEN ((to_jsonb(OLD) {NOT_CONFIGURATION}) IS DISTINCT FROM (to_jsonb(NEW) {NOT_CONFIGURATION}))"
        " EXECUTE FUNCTION bump_config_generation()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER promotion_update_config_generation ON promotion")
    for table in WATCHED:
        op.execute(f"DROP TRIGGER {table}_config_generation ON {table}")
    op.execute("DROP FUNCTION bump_config_generation()")
    op.drop_table("config_generation")
