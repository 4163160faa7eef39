"""Attachments: content types by content, safe names, the file store and the scan hook."""

from desk.attachments.content_types import ALLOWED, AllowedType, AttachmentRefused, sniff
from desk.attachments.filenames import safe_filename
from desk.attachments.scanning import AcceptAll, AttachmentScanner, ScanVerdict, load_scanner
from desk.attachments.store import AttachmentStore

__all__ = (
    "ALLOWED",
    "AcceptAll",
    "AllowedType",
    "AttachmentRefused",
    "AttachmentScanner",
    "AttachmentStore",
    "ScanVerdict",
    "load_scanner",
    "safe_filename",
    "sniff",
)
