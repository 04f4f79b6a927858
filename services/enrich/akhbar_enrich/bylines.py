"""A byline's place told from its persons with what normalize lacks: the gazetteer and the
entity recogniser.

Normalize reads a dateline or an author field by its shape alone (akhbar_normalize.datelines):
a name of one word is the place, a longer one a person. That misreads long place names
(«عين اليوم – القدس المحتلة», «المدينة المنورة - الجزيرة») and a reporter credited with an
agency («أولجاس أويزوف - رويترز»). Here each name of the byline — its place, and the author's
names the byline writes — is checked, in the byline's own words: a name the gazetteer knows is
a place; else a name of two words or more in which the recogniser finds a person is a person's
(it misreads lone foreign place names as persons: «سانتياجو :رويترز»), one in which it finds a
location a place; else the shape's guess stands. The first place is the
dateline place (the others stay in its raw text), the persons are the author.
"""

from __future__ import annotations

import re
from typing import Literal

from akhbar.contract import AUTHOR_SEP, Dateline
from akhbar.orthography import search_form
from akhbar_enrich.entities import arabic_mentions
from akhbar_enrich.places import lookup

Kind = Literal["place", "person"]
_WORD = re.compile(r"\w+")


def settle_byline(dateline: Dateline | None, author: str | None
                  ) -> tuple[Dateline | None, str | None]:
    """The dateline and author with the byline's places and persons told apart."""
    if dateline is None:
        return dateline, author
    mentions = [({search_form(t) for t in tokens}, kind)
                for kind, tokens in arabic_mentions([dateline.raw])]

    def kind_of(name: str) -> Kind | None:
        if lookup(name):
            return "place"
        words = set(_WORD.findall(search_form(name)))  # «أسطنبول/ديار بكر»: three words
        found = {kind for tokens, kind in mentions if tokens <= words}
        if "PERS" in found and len(words) > 1:  # one word is a place: «سانتياجو :رويترز»
            return "person"
        return "place" if "LOC" in found else None

    place = dateline.place
    persons = author.split(AUTHOR_SEP) if author else []
    if place is not None and kind_of(place) == "person":
        persons, place = [place, *persons], None
    places = [n for n in persons if n in dateline.raw and kind_of(n) == "place"]
    place = place or next(iter(places), None)
    persons = [n for n in persons if n not in places]
    return (dateline.model_copy(update={"place": place}),
            AUTHOR_SEP.join(persons) or None)
