"""The wording of notices: legal citations as data, and the small rules of Chinese prose.

A notice states its decision in a sentence the template composes around a citation:
“根据《中华人民共和国行政许可法》第三十二条第一款第（二）项的规定，决定不予受理。” The
citations are data — one per ground (``LEGAL_BASES``, overridable in the setting
``legal_bases``) and the item's own legal basis from the catalogue — never sentences, so
the template decides the words around them.

Text a clerk types (reasons, the excluded-time cause) goes into either a sentence of its
own, which gets its closing 。 (:func:`sentence`), or the middle of one, which loses any
closing punctuation (:func:`phrase`). A person is addressed as 你, an organisation as 你单位
(:func:`pronoun`), and an item whose name already ends in 申请 is not followed by a second
申请 (:func:`application`).
"""

from __future__ import annotations

import re

LAW = "《中华人民共和国行政许可法》"

#: The citation behind each decision or notice (行政许可法 art. 32, 38, 42, 45).
LEGAL_BASES: dict[str, str] = {
    "receipt": f"{LAW}第三十二条第一款第（五）项",
    "deemed": f"{LAW}第三十二条第一款第（四）项",
    "supplement": f"{LAW}第三十二条第一款第（四）项",
    "not-required": f"{LAW}第三十二条第一款第（一）项",
    "out-of-scope": f"{LAW}第三十二条第一款第（二）项",
    "denial": f"{LAW}第三十八条第二款",
    "extension": f"{LAW}第四十二条第一款",
    "excluded_time": f"{LAW}第四十五条",
}

_END = "。！？…"
_TRAILING = "，,、；;：:。.！!？? \t\u3000"
_LEADING_WORDS = ("根据", "依据", "依照", "按照")
# An order or document number after a regulation's title: （国家市场监督管理总局令第78号）.
_ORDER_NUMBER = re.compile(r"（[^（）]*(?:令|〔\d{4}〕)[^（）]*号）")
_CITATION = re.compile(r"^(《[^》]+》)(.*)$")


def phrase(text: str) -> str:
    """``text`` to go inside a sentence: trimmed, without closing punctuation."""
    return (text or "").strip().rstrip(_TRAILING).strip()


def sentence(text: str) -> str:
    """``text`` as a sentence of its own: trimmed, ending in 。 (or its own ！？…)."""
    text = (text or "").strip()
    if not text:
        return text
    if text[-1] in _END:
        return text
    return phrase(text) + "。"


def pronoun(applicant_kind: str) -> str:
    """How a notice addresses the applicant: 你 (a person) or 你单位 (an organisation)."""
    return "你" if applicant_kind == "person" else "你单位"


def application(item_name: str) -> str:
    """“the application for <item>”: 食品经营许可（新办）申请, but 政府信息公开申请 once."""
    name = (item_name or "").strip()
    core = re.sub(r"（[^（）]*）$", "", name)  # 政府信息公开申请（依申请公开） is already an application
    return name if core.endswith("申请") else f"{name}申请"


def legal_basis(workspace, ground: str) -> str:
    """The citation for ``ground`` (receipt, out-of-scope, denial …): the setting, else the law."""
    configured = (workspace.get("legal_bases") or {}).get(ground)
    return clean_citation(configured or LEGAL_BASES[ground])


def clean_citation(text: str) -> str:
    """One citation without the words a sentence puts round it (根据 … 的规定，) and without
    a regulation's order number."""
    text = phrase(text)
    for word in _LEADING_WORDS:
        if text.startswith(word):
            text = text[len(word):]
    if text.endswith("的规定"):
        text = text[: -len("的规定")]
    return _ORDER_NUMBER.sub("", text).strip()


def citations(text: str) -> list[str]:
    """The citations of an item's legal basis, which the catalogue separates with ；."""
    return [c for c in (clean_citation(part) for part in re.split(r"[；;\n]", text or "")) if c]


def join_citations(items: list[str]) -> str:
    """Citations in one clause: same law merged (《法》第一条、第二条), laws joined by 、 and
    the last by 和; repeats dropped."""
    laws: list[str] = []
    articles: dict[str, list[str]] = {}
    for citation in items:
        match = _CITATION.match(clean_citation(citation))
        law, rest = (match.group(1), match.group(2).strip("、，, ")) if match else (citation, "")
        if law not in articles:
            laws.append(law)
            articles[law] = []
        for part in filter(None, re.split(r"[、，,]", rest)):
            if part not in articles[law]:
                articles[law].append(part)
    joined = [law + "、".join(articles[law]) for law in laws]
    if len(joined) <= 1:
        return "".join(joined)
    return "、".join(joined[:-1]) + "和" + joined[-1]
