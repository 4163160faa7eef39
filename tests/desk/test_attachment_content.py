"""The content checks: types by their bytes, polyglots and disguises refused, names safe."""

from __future__ import annotations

import zlib

import pytest

from desk.attachments import AttachmentRefused, safe_filename, sniff
from desk.attachments.content_types import GIF, JPEG, PDF, PNG, TEXT
from tests.desk import attachment_samples as samples


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (samples.png(), PNG),
        (samples.gif(), GIF),
        (samples.gif(comment=b"made with care"), GIF),
        (samples.jpeg(), JPEG),
        (samples.pdf(), PDF),
        (samples.pdf_with_compressed(b"BT (fine) Tj ET"), PDF),
        (samples.pdf_with_stream(b"/Subtype /Image /Filter /DCTDecode", b"\xff\xd8jpeg"), PDF),
        ("Grüße,\r\nthe printer is on fire.\t\n".encode(), TEXT),
    ],
)
def test_well_formed_files_of_allowed_types_are_recognised(data: bytes, kind: object) -> None:
    assert sniff(data) is kind


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<!DOCTYPE html><html><script>alert(1)</script></html>",  # HTML, whatever the name
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff",  # a Windows executable
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00",  # ZIP (and so docx, jar, ...)
        b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8,
        b"plain text with a NUL\x00 inside",
        b"\xff\xfe\x00\x00 not UTF-8 \x80",
    ],
)
def test_disguised_or_unlisted_types_are_refused(data: bytes) -> None:
    with pytest.raises(AttachmentRefused):
        sniff(data)


@pytest.mark.parametrize(
    "data",
    [
        samples.gif(comment=b"<script>alert(1)</script>"),  # GIF/HTML polyglot
        samples.gif() + b"<html><script>alert(1)</script>",  # HTML after the trailer
        samples.png() + b"PK\x03\x04 appended zip",  # data after IEND
        samples.png_with_text(b"<iframe src=javascript:alert(1)>"),
        samples.jpeg() + b"trailing",
        samples.pdf(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"),
        samples.pdf(b"/Type /Action /S /J#61vaScript"),  # a name escape hides nothing
        samples.pdf_with_compressed(b"<< /S /Launch /F (cmd.exe) >>"),  # inside a stream
        samples.pdf(b"/EmbeddedFile"),
        # Streams a reader decodes and a Flate-only check would not (fail closed):
        samples.pdf_with_stream(
            b"/Type /ObjStm /Filter /ASCIIHexDecode", samples.HIDDEN_ACTION.hex().encode()
        ),
        samples.pdf_with_stream(b"/Filter [/FlateDecode /ASCII85Decode]", b"garbage"),
        samples.pdf_with_stream(b"/Filter /LZWDecode", b"\x80\x0b\x60\x50"),
        samples.pdf_with_stream(b"/Filter /Fl#61teDecode", b"not deflate data"),  # escaped
        # Flate without a line break before endstream, and after a lone CR:
        samples.pdf_with_stream(
            b"/Type /ObjStm /Filter /FlateDecode",
            zlib.compress(samples.HIDDEN_ACTION),
            before_end=b"",
        ),
        samples.pdf_with_stream(
            b"/Filter /FlateDecode", zlib.compress(samples.HIDDEN_ACTION)
        ).replace(b"stream\n", b"stream\r", 1),
        samples.pdf(b"/Encrypt 5 0 R"),  # encrypted: its objects cannot be read
        b"hello <script>alert(1)</script>",  # text that a browser would render as HTML
    ],
)
def test_polyglots_and_active_content_are_refused(data: bytes) -> None:
    with pytest.raises(AttachmentRefused):
        sniff(data)


@pytest.mark.parametrize(
    "data",
    [samples.png()[:-6], samples.gif()[:-1], samples.jpeg()[:-2], samples.pdf()[:-7]],
)
def test_truncated_files_are_refused(data: bytes) -> None:
    with pytest.raises(AttachmentRefused):
        sniff(data)


@pytest.mark.parametrize(
    ("raw", "kind", "expected"),
    [
        ("../../etc/passwd", TEXT, "passwd.txt"),
        ("..\\..\\windows\\win.ini", TEXT, "win.ini.txt"),
        ("/var/www/html/shell.php", PNG, "shell.php.png"),
        ("..", PNG, "attachment.png"),
        ("", PDF, "attachment.pdf"),
        (None, GIF, "attachment.gif"),
        ("invoice\u202efdp.exe", PDF, "invoice fdp.exe.pdf"),  # right-to-left override
        ("line\r\nbreak\x00.txt", TEXT, "line break.txt"),
        ('a"b;c<d>.PNG', PNG, "a_b_c_d_.png"),
        ("photo.JPEG", JPEG, "photo.jpeg"),
        ("report.pdf", PNG, "report.pdf.png"),  # the content decides the extension
    ],
)
def test_filenames_are_labels_not_paths(raw: str | None, kind: object, expected: str) -> None:
    assert safe_filename(raw, kind) == expected  # type: ignore[arg-type]


def test_long_filenames_are_capped_keeping_the_extension() -> None:
    name = safe_filename("x" * 1000 + ".pdf", PDF)

    assert len(name) == 120
    assert name.endswith("x.pdf")
