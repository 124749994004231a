"""Tax errors, each with its status and stable code."""

from collections.abc import Sequence

from shop.core.errors import Conflict, NotFound, UnprocessableEntity


class TaxClassNotFound(NotFound):
    pass


class TaxRateNotFound(NotFound):
    pass


class TaxClassTaken(Conflict):
    code = "tax_class_taken"


class TaxClassBuiltin(Conflict):
    """standard, reduced and zero exist in every store: shop.pricing and the defaults rely on them."""

    code = "tax_class_builtin"


class TaxClassInUse(Conflict):
    """A variant or a shipping method is sold under the class."""

    code = "tax_class_in_use"


class TaxRateTaken(Conflict):
    code = "tax_rate_taken"


class UnknownTaxClass(UnprocessableEntity):
    """A body names a tax class code that does not exist (a variant's, a method's, a rate's)."""

    code = "unknown_tax_class"

    @classmethod
    def at(cls, loc: Sequence[str | int], code: str) -> "UnknownTaxClass":
        return cls(
            f"There is no tax class {code!r}.",
            errors=[{"loc": list(loc), "msg": "Unknown tax class", "type": "value_error"}],
        )
