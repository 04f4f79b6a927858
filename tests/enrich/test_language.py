"""Which paragraphs are plainly Arabic (no language model asked): both the path for text without
any other letter and the counted share for text with some."""

from __future__ import annotations

import pytest

from akhbar_enrich.language import plainly_arabic

ARABIC = "قال الرئيس الروسي فلاديمير بوتين إن بلاده مستعدة للتعاون مع فرنسا في مكافحة الإرهاب"


@pytest.mark.parametrize(("text", "expected"), [
    (ARABIC, True),
    ("٢٠١٥ م", True),  # digits and one Arabic letter
    (f"{ARABIC} {ARABIC} (AFP)", True),  # 3 Latin letters against 140 Arabic: 0.98 ≥ 0.97
    (f"{ARABIC} (AFP)", False),  # against 70: 0.96
    (ARABIC + " Vladimir Putin", False),
    ("رئیس جمهور گفت که این کشور آماده همکاری است", False),  # Persian ی, گ
    ("Russian President Vladimir Putin said", False),
    ("2015 - 11:25", False),  # no letter at all
    ("", False),
])
def test_plainly_arabic(text: str, expected: bool) -> None:
    assert plainly_arabic(text) is expected
