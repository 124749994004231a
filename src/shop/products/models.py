"""Catalog tables: categories (a tree), products, their variants, and the stock audit trail."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

import shop.taxes.models  # noqa: F401  (the tax_class table a variant refers to)
from shop.core.db import Base, TimestampMixin, new_id

# The ordering value of a product without an active variant: after every priced product.
NO_PRICE = 2**62
VISIBLE = "is_active AND archived_at IS NULL"


class Category(TimestampMixin, Base):
    __tablename__ = "category"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("category.id", ondelete="RESTRICT"), index=True)


class Product(TimestampMixin, Base):
    __tablename__ = "product"
    __table_args__ = (
        Index("ix_product_search", "search", postgresql_using="gin"),
        Index("ix_product_name_trgm", "name", postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"}),
        # One index per storefront sort, each ending in the id tiebreaker of the keyset, and
        # holding only what the storefront may see.
        Index("ix_product_listing_created", "created_at", "id", postgresql_where=text(VISIBLE)),
        Index("ix_product_listing_name", "name", "id", postgresql_where=text(VISIBLE)),
        Index("ix_product_listing_price", "price_sort", "id", postgresql_where=text(VISIBLE)),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(220), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    category_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("category.id", ondelete="RESTRICT"), index=True)
    images: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The lowest price among active variants (NO_PRICE when none): kept by the service in the
    # same transaction as every variant change, so sorting by price is an index scan.
    price_sort: Mapped[int] = mapped_column(BigInteger, default=NO_PRICE, server_default=str(NO_PRICE))
    search: Mapped[Any] = mapped_column(
        TSVECTOR,
        Computed(
            "setweight(to_tsvector('english'::regconfig, coalesce(name, '')), 'A') || "
            "setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B')",
            persisted=True,
        ),
        # Only queries read it; loading it with every product would ship the whole index entry.
        deferred=True,
    )

    category: Mapped[Category | None] = relationship(lazy="raise")
    variants: Mapped[list["Variant"]] = relationship(
        back_populates="product", lazy="raise", order_by="Variant.created_at, Variant.id"
    )


class Variant(TimestampMixin, Base):
    __tablename__ = "variant"
    __table_args__ = (CheckConstraint("stock >= 0", name="stock_not_negative"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    price_amount: Mapped[int] = mapped_column(BigInteger)
    stock: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    attributes: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # The tax class its price is taxed under (shop.taxes); a class in use cannot be deleted.
    tax_class: Mapped[str] = mapped_column(
        ForeignKey("tax_class.code", ondelete="RESTRICT", onupdate="CASCADE"),
        default="standard",
        server_default="standard",
        index=True,  # deleting a tax class checks that nothing uses it
    )

    product: Mapped[Product] = relationship(back_populates="variants", lazy="raise")


class StockMovement(Base):
    """Every change of a variant's stock: how much, why, by whom, and what it left."""

    __tablename__ = "stock_movement"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("variant.id", ondelete="CASCADE"), index=True)
    delta: Mapped[int] = mapped_column(Integer)
    stock_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    # The staff user or the order behind the change; no foreign key across domains.
    actor_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SearchWord(Base):
    """Every word of every product's name and description: the vocabulary that a search word
    with a typo is corrected against (products/typos.py).

    A trigger on `product` adds the words of each new or changed text (migration 0008), so the
    vocabulary is never behind the catalog. Words are not removed: one no product holds any more
    corrects a typo to a word that finds nothing, which is what the typo found before.
    """

    __tablename__ = "search_word"
    __table_args__ = (Index("ix_search_word_initial_length", "initial", "length"),)

    word: Mapped[str] = mapped_column(String(64), primary_key=True)
    length: Mapped[int] = mapped_column(SmallInteger, Computed("length(word)", persisted=True), index=True)
    initial: Mapped[str] = mapped_column(String(1), Computed("left(word, 1)", persisted=True))
