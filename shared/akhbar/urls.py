"""URL query parameters that never select a page: campaign and click tracking."""

from __future__ import annotations

# Campaign (utm_*, Mailchimp's mc_cid/mc_eid) and click ids (Facebook, Google Ads, Instagram).
TRACKING_PREFIX = "utm_"
TRACKING = frozenset({"fbclid", "gclid", "mc_cid", "mc_eid", "igshid"})


def is_tracking(param: str) -> bool:
    """Is `param` (a query parameter's name) a tracking parameter, in any case?"""
    name = param.lower()
    return name.startswith(TRACKING_PREFIX) or name in TRACKING
