"""What every template builder does last: drop what python-docx's default document carries
but a template never uses.

python-docx starts from a default document with 160-odd styles, their latent-style list
(353 KB of styles.xml), a 438 KB stylesWithEffects part, custom XML and a thumbnail. Every
notice, form and list rendered from a template would carry them, and every reader would
parse them: LibreOffice for each PDF, python-docx for each file the search index reads.
"""

from __future__ import annotations

from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn

STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"
_STYLE_REFERENCES = ("w:pStyle", "w:rStyle", "w:tblStyle", "w:numStyleLink", "w:styleLink")
_STYLE_LINKS = ("w:basedOn", "w:next", "w:link")


def drop_unused_parts(doc) -> None:
    """Drop the custom XML, stylesWithEffects and thumbnail parts."""
    for rid, rel in list(doc.part.rels.items()):
        if rel.reltype in (RT.CUSTOM_XML, STYLES_WITH_EFFECTS):
            doc.part.drop_rel(rid)
    pkg_rels = doc.part.package.rels
    for rid, rel in list(pkg_rels.items()):
        if rel.reltype == RT.THUMBNAIL:
            pkg_rels.pop(rid)


def used_style_ids(doc) -> set[str]:
    """The styles the document refers to (body, headers, footers, numbering), the default
    style of each type, and every style those are based on or linked to."""
    roots = [doc.element]
    for rel in doc.part.rels.values():
        if rel.reltype in (RT.HEADER, RT.FOOTER, RT.NUMBERING) and not rel.is_external:
            element = getattr(rel.target_part, "element", None)
            if element is not None:
                roots.append(element)
    used = {node.get(qn("w:val")) for root in roots for tag in _STYLE_REFERENCES for node in root.iter(qn(tag))}
    styles = {style.style_id: style for style in doc.styles}
    used |= {sid for sid, style in styles.items() if style.element.get(qn("w:default")) in ("1", "true")}
    pending = list(used)
    while pending:
        style = styles.get(pending.pop())
        if style is None:
            continue
        for tag in _STYLE_LINKS:
            link = style.element.find(qn(tag))
            value = link.get(qn("w:val")) if link is not None else None
            if value and value not in used:
                used.add(value)
                pending.append(value)
    return used


def trim(doc) -> None:
    """Keep only the styles in use, no latent-style list, none of the unused parts."""
    drop_unused_parts(doc)
    used = used_style_ids(doc)
    for style in list(doc.styles):
        if style.style_id not in used:
            style.delete()
    for latent in list(doc.styles.latent_styles):
        latent.delete()
