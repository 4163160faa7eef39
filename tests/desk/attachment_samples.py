"""Small, well-formed files of each allowed type, and their hostile variants."""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(extra_chunk: bytes = b"") -> bytes:
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + extra_chunk
        + _chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + _chunk(b"IEND", b"")
    )


def png_with_text(text: bytes) -> bytes:
    return png(_chunk(b"tEXt", b"Comment\x00" + text))


def gif(comment: bytes | None = None) -> bytes:
    screen = b"GIF89a" + struct.pack("<HH", 1, 1) + b"\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff"
    extension = b"\x21\xfe" + bytes([len(comment)]) + comment + b"\x00" if comment else b""
    image = b"\x2c" + struct.pack("<HHHH", 0, 0, 1, 1) + b"\x00" + b"\x02\x02\x44\x01\x00"
    return screen + extension + image + b"\x3b"


def jpeg() -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sos = b"\xff\xda" + struct.pack(">H", 8) + b"\x01\x01\x00\x00\x3f\x00"
    return b"\xff\xd8" + app0 + sos + b"\x12\x34\xff\x00\x56\xff\xd0\x78" + b"\xff\xd9"


def pdf(body: bytes = b"BT /F1 12 Tf (Hello) Tj ET") -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
        b"3 0 obj << /Length "
        + str(len(body)).encode()
        + b" >>\nstream\n"
        + body
        + b"\nendstream\n"
        b"endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


def pdf_with_compressed(payload: bytes) -> bytes:
    return pdf(zlib.compress(payload))


def pdf_with_stream(dictionary: bytes, data: bytes, *, before_end: bytes = b"\n") -> bytes:
    """A PDF whose third object is a stream with ``dictionary`` entries and raw ``data``."""
    return (
        b"%PDF-1.5\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
        b"3 0 obj << /Length "
        + str(len(data)).encode()
        + b" "
        + dictionary
        + b" >>\nstream\n"
        + data
        + before_end
        + b"endstream\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


HIDDEN_ACTION = b"<< /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>"
