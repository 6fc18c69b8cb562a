"""The alerts the profile stage raises on a column (`column_profiles.alerts`)."""
from __future__ import annotations

from enum import StrEnum


class Alert(StrEnum):
    ALL_MISSING = "all_missing"
    """No value in the column (placeholders such as 'N/A' do not count as values)."""
    CONSTANT = "constant"
    PLACEHOLDER_MISSING = "placeholder_missing"
    """Missing values written as a placeholder ('N/A', '-', 'null', ...)."""
    DECIMAL_COMMA = "decimal_comma"
    MIXED_DATE_FORMATS = "mixed_date_formats"
    """Both ISO dates and day/month/year dates in one column."""
    MOJIBAKE = "mojibake"
    """Values with accents garbled by a wrong encoding ('CuauhtÃ©moc')."""
    ACCENTS_LOST = "accents_lost"
    """Values whose accented letters were already replaced upstream, by '?' between letters
    ('Viaducto R?o de la Piedad') or by U+FFFD ('San Jos\ufffd de Gracia'): no decoding brings them back."""
    MOJIBAKE_NAME = "mojibake_name"
    """The column's name itself garbled (a BOM or accents read in the wrong encoding)."""
    HIGH_CARDINALITY = "high_cardinality"
    CATEGORY_SPELLINGS = "category_spellings"
    """One category written several ways (accents, case, punctuation)."""
    SIBLING_COLUMNS_DIFFER = "sibling_columns_differ"
    """A column that a sibling table of the same dataset lacks."""
    UNREADABLE = "unreadable"
    """The table could not be read (the profile's one column has type 'error')."""
