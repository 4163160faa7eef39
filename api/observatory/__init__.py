"""A scripted Mozilla HTTP Observatory check of our response headers."""

from api.observatory.checks import Finding, Observed, every_check
from api.observatory.scan import Report, plain_http_url, scan, scan_all

__all__ = ("Finding", "Observed", "Report", "every_check", "plain_http_url", "scan", "scan_all")
