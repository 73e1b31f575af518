"""The pseudo-language ``en-XA``: every translated message turned into accented
look-alikes between ⟦ and ⟧, so that English left on a page is the English nobody
translated. The completeness tests render every page in it; a developer can too
(the ``lang`` cookie set to ``en-XA``). Placeholders, markup and entities are kept."""

from __future__ import annotations

import re

from babel.support import NullTranslations

OPEN, CLOSE = "⟦", "⟧"
_LOOK_ALIKES = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "åƀçðéƒĝĥîĵķļɱñöþǫŕšţûṽŵẋýžÅƁÇÐÉƑĜĤÎĴĶĻṀÑÖÞǪŔŠŢÛṼŴẊÝŽ",
)
# What must reach the page as written: {name}, %(name)s, %%, <tags> and &entities;.
_KEPT = re.compile(r"(\{\w+\}|%\(\w+\)[sd]|%%|<[^>]*>|&\w+;|&#\d+;)")


def pseudo(message: str) -> str:
    if not message:
        return message
    parts = _KEPT.split(message)
    return (
        OPEN
        + "".join(p if i % 2 else p.translate(_LOOK_ALIKES) for i, p in enumerate(parts))
        + CLOSE
    )


class PseudoTranslations(NullTranslations):
    def gettext(self, message: str) -> str:
        return pseudo(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return pseudo(singular if n == 1 else plural)
