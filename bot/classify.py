"""Free text -> topics and slot values. The code lives in `bot.understanding`; this is its public face.

Importing this module is cheap and never loads scikit-learn or SciPy; neither does building a
`Classifier` from phrasings (the model is trained in a child process once and cached).
"""

from __future__ import annotations

from bot.understanding.classifier import ABSTAIN_MARGIN, CLARIFY_BELOW, Classifier, Understanding
from bot.understanding.markets import extract_marketplaces
from bot.understanding.phrasings import default_phrasings_dir, read_phrasings
from bot.understanding.slots import (
    Slots,
    extract_account_type,
    extract_agency,
    extract_error_codes,
    extract_new_customer,
    extract_slots,
    extract_yes_no,
)
from bot.understanding.text import MAX_CHARS, normalize, split_clauses

__all__ = [
    "ABSTAIN_MARGIN",
    "CLARIFY_BELOW",
    "MAX_CHARS",
    "Classifier",
    "Slots",
    "Understanding",
    "default_phrasings_dir",
    "extract_account_type",
    "extract_agency",
    "extract_error_codes",
    "extract_marketplaces",
    "extract_new_customer",
    "extract_slots",
    "extract_yes_no",
    "normalize",
    "read_phrasings",
    "split_clauses",
]
