"""Countries: the ISO 3166-1 alpha-2 codes an address, a tax rate or a shipping zone names."""

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

# ISO 3166-1 alpha-2: the officially assigned codes.
_COUNTRY_CODES = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
COUNTRIES = frozenset(_COUNTRY_CODES.split())


def _known_country(value: str) -> str:
    code = value.upper()
    if code not in COUNTRIES:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code")
    return code


# Accepted in any case and stored upper case ("de" is DE).
CountryCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=2, max_length=2),
    AfterValidator(_known_country),
    Field(description="ISO 3166-1 alpha-2 code, e.g. DE."),
]

# ISO 3166-2: the country, a hyphen and 1 to 3 letters or digits. Accepted in any case, kept upper case.
RegionCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{2}-[A-Za-z0-9]{1,3}$"),
    Field(description="ISO 3166-2 subdivision of `country`, e.g. ES-CN (Canary Islands)."),
]
