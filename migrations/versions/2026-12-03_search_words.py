"""search words: the catalog's vocabulary, kept by a trigger, that typo-tolerant search corrects against

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The words of a text as search takes them apart (products/typos.py `words`): lower case, split
# on anything but letters and digits; too short to correct, or too long to be a word, left out.
WORDS_OF = (
    "SELECT DISTINCT w FROM regexp_split_to_table(lower({text}), '[^[:alnum:]]+') AS w WHERE length(w) BETWEEN 3 AND 64"
)


def upgrade() -> None:
    # Levenshtein distances in C, to narrow the vocabulary before the exact typo rule is applied.
    op.execute("CREATE EXTENSION IF NOT EXISTS fuzzystrmatch")
    op.create_table(
        "search_word",
        sa.Column("word", sa.String(length=64), nullable=False),
        sa.Column("length", sa.SmallInteger(), sa.Computed("length(word)", persisted=True), nullable=False),
        sa.Column("initial", sa.String(length=1), sa.Computed("left(word, 1)", persisted=True), nullable=False),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_search_word")),
    )
    op.create_index("ix_search_word_initial_length", "search_word", ["initial", "length"], unique=False)
    op.create_index(op.f("ix_search_word_length"), "search_word", ["length"], unique=False)
    op.execute(
        f"""
        CREATE FUNCTION product_search_words() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO search_word (word)
            {WORDS_OF.format(text="NEW.name || ' ' || coalesce(NEW.description, '')")}
            ON CONFLICT DO NOTHING;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER product_search_words AFTER INSERT OR UPDATE OF name, description ON product "
        "FOR EACH ROW EXECUTE FUNCTION product_search_words()"
    )
    op.execute(
        "INSERT INTO search_word (word) "
        + WORDS_OF.format(text="name || ' ' || description").replace("FROM regexp", "FROM product, regexp")
        + " ON CONFLICT DO NOTHING"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER product_search_words ON product")
    op.execute("DROP FUNCTION product_search_words()")
    op.drop_index(op.f("ix_search_word_length"), table_name="search_word")
    op.drop_index("ix_search_word_initial_length", table_name="search_word")
    op.drop_table("search_word")
    op.execute("DROP EXTENSION IF EXISTS fuzzystrmatch")
