"""The places the seed articles name, and distances between coordinates, for tests/enrich."""

from __future__ import annotations

import math

# The places the seed articles name, with the country and city centre they stand for.
SEED_PLACES = [
    ("الرقة", "SY", 35.950, 39.009),
    ("دير الزور", "SY", 35.336, 40.141),
    ("تدمر", "SY", 34.560, 38.268),
    ("حلب", "SY", 36.202, 37.134),
    ("إدلب", "SY", 35.931, 36.633),
    ("اللاذقية", "SY", 35.520, 35.783),
    ("حماة", "SY", 35.131, 36.757),
    ("حمص", "SY", 34.733, 36.714),
    ("دمشق", "SY", 33.513, 36.292),
    ("باريس", "FR", 48.857, 2.352),
    ("موسكو", "RU", 55.756, 37.617),
]


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    cos = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return 6371.0 * math.acos(min(1.0, cos))
