"""What the template builders share: fonts named for every script, bordered tables with
docxtpl row loops, and what every builder does last, dropping what python-docx's default
document carries but a template never uses.

python-docx starts from a default document with 160-odd styles, their latent-style list
(353 KB of styles.xml), a 438 KB stylesWithEffects part, custom XML and a thumbnail. Every
notice, form and list rendered from a template would carry them, and every reader would
parse them: LibreOffice for each PDF, python-docx for each file the search index reads.
"""

from __future__ import annotations

from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm

STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"
_STYLE_REFERENCES = ("w:pStyle", "w:rStyle", "w:tblStyle", "w:numStyleLink", "w:styleLink")
_STYLE_LINKS = ("w:basedOn", "w:next", "w:link")


def set_fonts(rpr, name: str) -> None:
    """Name ``name`` for every script on ``rpr`` and drop theme fonts that would win."""
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), name)


def grid_table(doc, widths_mm, rows, style_of, *, header=None, loop=None, loop_row=None, prepare_row=None):
    """A centred, bordered table with fixed column widths.

    ``rows`` are lists of cell texts; a text of ``None`` merges the cell into its left
    neighbour. ``loop``/``loop_row`` add ``{%tr for ... %}`` / row / ``{%tr endfor %}``.
    ``style_of(kind, column)`` names each cell's paragraph style (kind: header, pair,
    data); ``prepare_row(row, kind)`` may set a row's height. The header row repeats on
    every page, no row splits across two, and cells have 1 mm side margins.
    """
    all_rows = []
    if header:
        all_rows.append(("header", header))
    all_rows += [("pair", r) for r in rows]
    if loop:
        all_rows.append(("tag", [f"{{%tr for {loop} %}}"] + [""] * (len(widths_mm) - 1)))
        all_rows.append(("data", loop_row))
        all_rows.append(("tag", ["{%tr endfor %}"] + [""] * (len(widths_mm) - 1)))
    table = doc.add_table(rows=len(all_rows), cols=len(widths_mm))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for grid_col, width in zip(table._tbl.tblGrid.gridCol_lst, widths_mm):
        grid_col.w = Mm(width)
    for row, (kind, texts) in zip(table.rows, all_rows):
        if kind == "header":
            repeat_header(row)
        if kind != "tag":
            keep_row_together(row)
        if prepare_row is not None:
            prepare_row(row, kind)
        cells = row.cells
        for i, width in enumerate(widths_mm):
            cells[i].width = Mm(width)
            cells[i].vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        # Merge right to left so the indices of the cells still to merge stay valid.
        for i in range(len(texts) - 1, 0, -1):
            if texts[i] is None:
                cells[i - 1].merge(cells[i])
        for i, text in enumerate(texts):
            if text is None:
                continue
            cell = row.cells[i]
            para = cell.paragraphs[0]
            para.style = doc.styles[style_of(kind, i)]
            if text:
                para.add_run(text)
            # A merge leaves the absorbed cells' empty paragraphs behind.
            for extra in cell.paragraphs[1:]:
                extra._p.getparent().remove(extra._p)
    cell_margins(table)
    return table


def cell_margins(table, *, left_mm: float = 1.0, right_mm: float = 1.0, top_mm: float = 0.0,
                 bottom_mm: float = 0.0) -> None:
    """Set the table's default cell margins (Word's default 1.9 mm each side wastes a column)."""
    tbl_pr = table._tbl.tblPr
    margins = tbl_pr.find(qn("w:tblCellMar"))
    if margins is None:
        margins = OxmlElement("w:tblCellMar")
        tbl_pr.append(margins)
    for side, mm in (("top", top_mm), ("left", left_mm), ("bottom", bottom_mm), ("right", right_mm)):
        node = margins.find(qn(f"w:{side}"))
        if node is None:
            node = OxmlElement(f"w:{side}")
            margins.append(node)
        node.set(qn("w:w"), str(round(mm * 1440 / 25.4)))
        node.set(qn("w:type"), "dxa")


def repeat_header(row) -> None:
    """Mark a table row as a header row, repeated at the top of every page."""
    row._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))


def keep_row_together(row) -> None:
    """Keep a table row on one page (a material's name never splits across two)."""
    row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))


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
