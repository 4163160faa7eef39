"""What an uploaded file is, decided from its bytes alone, against an allowlist.

The name and the client's ``Content-Type`` are never consulted. A small explicit table
rather than a sniffing library (``filetype``, ``puremagic``): those read a few leading
bytes and name a type; we must also refuse polyglots — a file that is valid as an
allowed type *and* as something a browser or reader would run — so each type is checked
start to end:

- PNG, GIF and JPEG must parse as that format up to their end marker, with nothing after
  it (no appended HTML, ZIP or script);
- PDF must have no active content (JavaScript, launch actions, embedded files, forms
  that submit), also not inside compressed streams or behind ``#xx`` name escapes;
- plain text must be UTF-8 without NUL or other control characters;
- no file may carry HTML or SVG markup anywhere (the classic GIF/HTML polyglot).
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

from core.errors import ExpectedError


class AttachmentRefused(ExpectedError):
    """The file is not one we accept; the message says why without echoing the file."""

    code = "ATTACHMENT_REFUSED"


@dataclass(frozen=True, slots=True)
class AllowedType:
    media_type: str
    extensions: tuple[str, ...]  # the first is added to a name that has none of them


PNG = AllowedType("image/png", (".png",))
JPEG = AllowedType("image/jpeg", (".jpg", ".jpeg"))
GIF = AllowedType("image/gif", (".gif",))
PDF = AllowedType("application/pdf", (".pdf",))
TEXT = AllowedType("text/plain", (".txt", ".log", ".csv"))
ALLOWED = (PNG, JPEG, GIF, PDF, TEXT)

# Markup that makes bytes a document, SVG/XML and script URLs, searched case-insensitively
# in every file: the long WHATWG HTML sniffing patterns, not the short ones (<a, <b, <p,
# <br, <img, <!-- …), which turn up by chance in compressed image data often enough to
# refuse real photos. What a browser does with a download is settled elsewhere: it is
# served as an attachment, with nosniff and a sandbox CSP.
_MARKUP = re.compile(
    rb"<(?:!doctype|html|head|body|script|iframe|svg|object|embed|style|meta|link|form"
    rb"|\?xml)\b|javascript:",
    re.IGNORECASE,
)
_PDF_ACTIVE = re.compile(
    rb"/(?:JavaScript|JS|Launch|EmbeddedFile|EmbeddedFiles|RichMedia|XFA|OpenAction|AA"
    rb"|SubmitForm|ImportData|GoToR|GoToE)(?![A-Za-z0-9])"
)
_PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
# A stream's data runs from the end-of-line after ``stream`` (CRLF, LF or a lone CR, which
# readers accept) to ``endstream``, with or without a line break before it.
_PDF_STREAM = re.compile(rb"stream(?:\r\n|\n|\r)(.*?)endstream", re.DOTALL)
_PDF_FILTER = re.compile(rb"/Filter\s*(\[[^\]]*\]|/[A-Za-z0-9]+)")
_PDF_FILTER_NAME = re.compile(rb"/([A-Za-z0-9]+)")
# Filters whose data is an image, never PDF objects: kept encoded, scanned raw.
_PDF_IMAGE_FILTERS = frozenset({b"DCTDecode", b"JPXDecode", b"CCITTFaxDecode", b"JBIG2Decode"})
_PDF_MAX_INFLATED = 64 * 1024 * 1024
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def sniff(data: bytes) -> AllowedType:
    """The allowed type ``data`` is, checked start to end.

    Raises AttachmentRefused for an empty file, a type not on the allowlist, a file that
    is not well-formed as its type, or one that could also be read as active content.
    """
    if not data:
        raise AttachmentRefused("The file is empty.")
    kind = _by_signature(data)
    if kind is None:
        raise AttachmentRefused(
            "This kind of file is not accepted (PNG, JPEG, GIF, PDF or plain text only)."
        )
    if _MARKUP.search(data):
        raise AttachmentRefused("The file contains markup or script and is not accepted.")
    check = {PNG: _check_png, JPEG: _check_jpeg, GIF: _check_gif, PDF: _check_pdf}
    check.get(kind, _check_text)(data)
    return kind


def _by_signature(data: bytes) -> AllowedType | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if data.startswith(b"%PDF-"):
        return PDF
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return TEXT


def _malformed(kind: AllowedType) -> AttachmentRefused:
    return AttachmentRefused(f"The file is not a well-formed {kind.media_type} file.")


def _check_png(data: bytes) -> None:
    position = 8
    while position + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, position)
        chunk_type = data[position + 4 : position + 8]
        end = position + 12 + length
        if end > len(data):
            raise _malformed(PNG)
        (crc,) = struct.unpack_from(">I", data, end - 4)
        if zlib.crc32(data[position + 4 : end - 4]) != crc:
            raise _malformed(PNG)
        position = end
        if chunk_type == b"IEND":
            if position != len(data):
                raise AttachmentRefused("The file has data after its end (a polyglot).")
            return
    raise _malformed(PNG)


def _check_gif(data: bytes) -> None:
    if len(data) < 13:
        raise _malformed(GIF)
    flags = data[10]
    position = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    try:
        while True:
            introducer = data[position]
            if introducer == 0x3B:  # trailer
                if position + 1 != len(data):
                    raise AttachmentRefused("The file has data after its end (a polyglot).")
                return
            if introducer == 0x21:  # extension: label, then sub-blocks
                position = _skip_sub_blocks(data, position + 2)
            elif introducer == 0x2C:  # image descriptor, local colour table, LZW data
                image_flags = data[position + 9]
                position += 10
                if image_flags & 0x80:
                    position += 3 * 2 ** ((image_flags & 7) + 1)
                position = _skip_sub_blocks(data, position + 1)
            else:
                raise _malformed(GIF)
    except IndexError:
        raise _malformed(GIF) from None


def _skip_sub_blocks(data: bytes, position: int) -> int:
    while (size := data[position]) != 0:
        position += size + 1
    return position + 1


def _check_jpeg(data: bytes) -> None:
    position = 2
    try:
        while True:
            if data[position] != 0xFF:
                raise _malformed(JPEG)
            marker = data[position + 1]
            if marker == 0xD9:  # end of image
                if position + 2 != len(data):
                    raise AttachmentRefused("The file has data after its end (a polyglot).")
                return
            if marker == 0xFF or 0xD0 <= marker <= 0xD7 or marker == 0x01:
                position += 1 if marker == 0xFF else 2
                continue
            (length,) = struct.unpack_from(">H", data, position + 2)
            position += 2 + length
            if marker == 0xDA:  # start of scan: entropy-coded data up to the next marker
                position = _end_of_scan(data, position)
    except (IndexError, ValueError, struct.error):  # ran off the end (ValueError: index)
        raise _malformed(JPEG) from None


def _end_of_scan(data: bytes, position: int) -> int:
    while True:
        position = data.index(b"\xff", position)
        following = data[position + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:  # stuffed byte or restart
            position += 2
            continue
        return position


def _check_pdf(data: bytes) -> None:
    """Fail closed: every stream must be plain, Flate (inflated and scanned too) or an
    image codec; anything a reader could decode that we cannot (ASCIIHex, ASCII85, LZW,
    RunLength, filter chains, a Flate stream that does not inflate) is refused, and so is
    an encrypted PDF, whose objects cannot be read without decrypting them."""
    if not data.rstrip().endswith(b"%%EOF"):
        raise _malformed(PDF)
    if b"/Encrypt" in _unescape_names(data):
        raise AttachmentRefused("Encrypted PDFs are not accepted.")
    inflated_total = 0
    parts = [data]
    for match in _PDF_STREAM.finditer(data):
        filters = _stream_filters(data, match.start())
        if filters and set(filters) <= _PDF_IMAGE_FILTERS:
            continue  # image data: scanned raw with the whole file below
        if filters not in ([], [b"FlateDecode"]):
            raise AttachmentRefused("The PDF uses a stream encoding that cannot be checked.")
        try:
            inflater = zlib.decompressobj()
            inflated = inflater.decompress(
                match.group(1).rstrip(b"\r\n"), _PDF_MAX_INFLATED - inflated_total
            )
        except zlib.error:
            if not filters:
                continue  # plain data that merely is not deflate: scanned raw below
            raise AttachmentRefused(
                "The PDF has a compressed stream that cannot be read."
            ) from None
        inflated_total += len(inflated)
        if inflated_total >= _PDF_MAX_INFLATED or inflater.unconsumed_tail:
            raise AttachmentRefused("The file's compressed content is too large to check.")
        parts.append(inflated)
    for part in parts:
        if _PDF_ACTIVE.search(_unescape_names(part)) or _MARKUP.search(part):
            raise AttachmentRefused("The PDF contains active content and is not accepted.")


def _unescape_names(part: bytes) -> bytes:
    return _PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), part)


def _stream_filters(data: bytes, stream_at: int) -> list[bytes]:
    """The /Filter names of the stream whose keyword is at ``stream_at``: read from its
    object's dictionary, between the last ``obj`` before it and the keyword."""
    start = data.rfind(b"obj", 0, stream_at)
    if start < 0:
        raise _malformed(PDF)
    dictionary = _unescape_names(data[start:stream_at])
    found = _PDF_FILTER.search(dictionary)
    return _PDF_FILTER_NAME.findall(found.group(1)) if found else []


def _check_text(data: bytes) -> None:
    text = data.decode("utf-8")  # _by_signature decoded it already
    if _TEXT_CONTROL.search(text):
        raise AttachmentRefused("Text files must be UTF-8 without control characters.")
