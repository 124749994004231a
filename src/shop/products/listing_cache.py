"""Which listing pages are cached, under which key, and what retires them.

Coherence: every listing entry belongs to one family, `LISTINGS`, whose single generation every
catalogue write bumps after its commit (`product_keys` carries it, so each write that drops a
product's cached views drops every listing page with them). A page loaded before a write never
answers after it, in any process: no TTL to wait out. The TTL only bounds memory.

Bounds: a crafted query string must not be able to fill Redis, so a request is cached only when
its parameters come from a small space, normalised so that equal pages share one key:
- the page size is one of `CACHED_PAGE_SIZES`, the page one of the first `MAX_CACHED_PAGES`
  (the depth travels in the cursor); a page's key is its depth, not its cursor, and the entry
  records the cursor it answers, so forged cursors can only miss, never add keys;
- a search is at most `MAX_CACHED_SEARCH` characters, compared with its spaces collapsed and in
  lower case (the full-text and trigram matching ignore both);
- price filters, which take any integer, are not cached;
- an empty page is not stored (a category that does not exist, a search that finds nothing).
"""

from shop.core.cache import CacheKey
from shop.products.listing import ListingQuery

NAMESPACE = "listing"
LISTINGS = CacheKey.family_key(NAMESPACE, "all")
LISTING_CACHE_SECONDS = 60
CACHED_PAGE_SIZES = frozenset({10, 12, 20, 24, 30, 36, 48, 50, 60, 100})
MAX_CACHED_PAGES = 5
MAX_CACHED_SEARCH = 64


def normalise_search(q: str | None) -> str | None:
    """The search as it is run and cached: spaces collapsed, lower case (which match the same)."""
    if q is None:
        return None
    # A search of spaces only stays as it is: as no search at all it would list everything.
    return " ".join(q.split()).lower() or q


def listing_key(query: ListingQuery, category_slug: str | None, depth: int | None) -> CacheKey | None:
    """The key of a listing page, or None when the page is not to be cached."""
    if depth is None or depth > MAX_CACHED_PAGES or query.limit not in CACHED_PAGE_SIZES:
        return None
    if query.min_price is not None or query.max_price is not None:
        return None
    if query.q is not None and (len(query.q) > MAX_CACHED_SEARCH or not query.q.strip()):
        return None
    parts = (query.sort.value, query.limit, query.q, category_slug, query.in_stock, depth)
    return CacheKey.in_family(NAMESPACE, LISTINGS.ident, *parts)
