"""Text rules of catalog files: how their bytes become text, and which cells count as blank.

A CSV, TSV or JSON catalog is UTF-8, with or without a byte-order mark; a UTF-16 or UTF-32
file is read when it starts with its byte-order mark. Anything else — bytes that are not
UTF-8, NUL characters (UTF-16 without a mark), a compressed or binary file — is one
:class:`~banditsim.envs.errors.CatalogError` naming the problem, never text with stray characters.
"""

from __future__ import annotations

import unicodedata

from banditsim.envs.errors import CatalogError

# Longest marks first: the UTF-32-LE mark starts with the UTF-16-LE one.
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32"),
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"),
    (b"\xef\xbb\xbf", "utf-8", "UTF-8"),
    (b"\xff\xfe", "utf-16-le", "UTF-16"),
    (b"\xfe\xff", "utf-16-be", "UTF-16"),
)
_SIGNATURES = (
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook?)"),
    (b"PAR1", "a parquet file"),
    (b"BZh", "a bzip2-compressed file"),
    (b"\xfd7zXZ\x00", "an xz-compressed file"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook"),
)
# Characters that draw nothing although Unicode does not class them as spaces or format characters.
_INVISIBLE = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u2800\u3164\uffa0"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
)
_BLANK_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})


def is_blank(text: str) -> bool:
    """True when ``text`` shows nothing: only whitespace, zero-width or other invisible characters.

    Examples
    --------
    >>> is_blank(" \\u200b\\u00a0\\ufeff"), is_blank("NA"), is_blank("")
    (True, False, True)
    """
    text = text.strip()
    if not text:
        return True
    for ch in (text[0], text[-1]):  # fast path: a letter or digit shows (Hangul fillers are letters)
        if ch.isalnum() and ch not in _INVISIBLE:
            return False
    return all(
        ch.isspace() or ch in _INVISIBLE or 0xE0100 <= ord(ch) <= 0xE01EF
        or unicodedata.category(ch) in _BLANK_CATEGORIES
        for ch in text
    )


def look_alike_key(text: str) -> str:
    """``text`` as it looks: surrounding whitespace and invisible characters dropped, NFC-normalised.

    Two ids with the same key print alike (``"7"``, ``"7 "``, ``"7\\u200b"``); a catalog refuses them.

    Examples
    --------
    >>> look_alike_key(" 7\u200b") == look_alike_key("7"), look_alike_key("e\u0301") == "\u00e9"
    (True, True)
    """
    if text.isascii():
        return text.strip()
    shown = "".join(ch for ch in text if ch not in _INVISIBLE and unicodedata.category(ch) != "Cf")
    return unicodedata.normalize("NFC", shown).strip()


def decode_catalog_bytes(raw: bytes, name: str) -> str:
    """The text of a CSV/TSV/JSON catalog file.

    A byte-order mark picks UTF-8, UTF-16 or UTF-32 (and is dropped). Without one the bytes are
    UTF-8; a byte that is not becomes a lone surrogate (``surrogateescape``) so the caller can
    name the column and row holding it (see :func:`has_bad_bytes`).
    """
    for mark, codec, label in _BOMS:
        if raw.startswith(mark):
            try:
                text = raw[len(mark):].decode(codec)
            except UnicodeDecodeError as exc:
                raise CatalogError(
                    f"cannot read catalog {name}: it starts with a {label} byte-order mark but byte "
                    f"{exc.start + len(mark)} is not valid {label}"
                ) from None
            break
    else:
        for magic, what in _SIGNATURES:
            if raw.startswith(magic):
                raise CatalogError(f"cannot read catalog {name}: it is {what}, not text")
        text = raw.decode("utf-8", errors="surrogateescape")
    if "\x00" in text:
        raise CatalogError(
            f"cannot read catalog {name}: it holds NUL characters (UTF-16 without a byte-order mark, "
            "or not a text file?); save it as UTF-8"
        )
    return text


def has_bad_bytes(text: str) -> bool:
    """True when ``text`` holds a lone surrogate: a byte that was not UTF-8, or a broken JSON escape."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
