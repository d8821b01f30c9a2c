"""Builders for real .docx test files: python-docx for the normal parts, and
direct edits of the package for what python-docx cannot write (text boxes,
tracked changes, footnotes, comments)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import docx

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = (
    f'xmlns:w="{W_NS}" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:v="urn:schemas-microsoft-com:vml" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"'
)


def textbox_xml(text: str) -> str:
    """A paragraph anchoring a modern text box, with Word's VML fallback copy."""
    inner = f'<w:txbxContent><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:txbxContent>'
    return (
        f'<w:p {NS}><w:r><mc:AlternateContent>'
        f'<mc:Choice Requires="wps"><w:drawing><wp:anchor><a:graphic><a:graphicData>'
        f'<wps:wsp><wps:txbx>{inner}</wps:txbx></wps:wsp>'
        f'</a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice>'
        f'<mc:Fallback><w:pict><v:shape><v:textbox>{inner}</v:textbox></v:shape></w:pict></mc:Fallback>'
        f'</mc:AlternateContent></w:r></w:p>'
    )


def tracked_xml(kept: str, inserted: str, deleted: str) -> str:
    return (
        f'<w:p {NS}><w:r><w:t xml:space="preserve">{kept} </w:t></w:r>'
        f'<w:ins w:id="91" w:author="Evaluator" w:date="2025-01-01T00:00:00Z"><w:r><w:t>{inserted}</w:t></w:r></w:ins>'
        f'<w:del w:id="92" w:author="Evaluator" w:date="2025-01-01T00:00:00Z"><w:r><w:delText>{deleted}</w:delText></w:r></w:del>'
        f'</w:p>'
    )


def make_docx(path: Path, paragraphs=(), *, heading: str | None = None, table=None,
              header_text: str | None = None, body_xml: str = "", footnote: str | None = None,
              comment: str | None = None) -> Path:
    """Write a .docx with the given parts; ``body_xml`` is appended to the body."""
    document = docx.Document()
    if heading:
        document.add_heading(heading, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    if header_text:
        document.sections[0].header.paragraphs[0].text = header_text
    document.save(path)
    if body_xml or footnote or comment:
        _patch(path, body_xml, footnote, comment)
    return path


def _patch(path: Path, body_xml: str, footnote: str | None, comment: str | None) -> None:
    temp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml" and body_xml:
                text = data.decode("utf-8")
                index = text.rindex("<w:sectPr")
                data = (text[:index] + body_xml + text[index:]).encode("utf-8")
            elif item.filename == "word/_rels/document.xml.rels":
                text = data.decode("utf-8")
                extra = ""
                if footnote:
                    extra += ('<Relationship Id="rIdFn1" Type="http://schemas.openxmlformats.org/'
                              'officeDocument/2006/relationships/footnotes" Target="footnotes.xml"/>')
                if comment:
                    extra += ('<Relationship Id="rIdCm1" Type="http://schemas.openxmlformats.org/'
                              'officeDocument/2006/relationships/comments" Target="comments.xml"/>')
                data = text.replace("</Relationships>", extra + "</Relationships>").encode("utf-8")
            elif item.filename == "[Content_Types].xml":
                text = data.decode("utf-8")
                extra = ""
                if footnote:
                    extra += ('<Override PartName="/word/footnotes.xml" ContentType="application/'
                              'vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"/>')
                if comment:
                    extra += ('<Override PartName="/word/comments.xml" ContentType="application/'
                              'vnd.openxmlformats-officedocument.wordprocessingml.comments+xml"/>')
                data = text.replace("</Types>", extra + "</Types>").encode("utf-8")
            target.writestr(item, data)
        if footnote:
            target.writestr("word/footnotes.xml", (
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                f'<w:footnotes xmlns:w="{W_NS}">'
                f'<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
                f'<w:footnote w:id="1"><w:p><w:r><w:t>{footnote}</w:t></w:r></w:p></w:footnote>'
                f'</w:footnotes>'))
        if comment:
            target.writestr("word/comments.xml", (
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                f'<w:comments xmlns:w="{W_NS}"><w:comment w:id="0" w:author="Evaluator">'
                f'<w:p><w:r><w:t>{comment}</w:t></w:r></w:p></w:comment></w:comments>'))
    shutil.move(temp, path)
