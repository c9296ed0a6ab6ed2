"""Encodes tar headers: USTAR where the entry fits, a PAX extended header only where needed.

Every field that could vary between machines is fixed: uid/gid 0, empty user and group
names, the mtime the caller passes, no device numbers.
"""

from __future__ import annotations

BLOCK = 512
RECORD = 20 * BLOCK  # GNU tar's default blocking factor; the archive is padded to it

REGTYPE = b"0"
LNKTYPE = b"1"
SYMTYPE = b"2"
DIRTYPE = b"5"
PAXTYPE = b"x"

_MAX_OCTAL_SIZE = 8**11 - 1
_PAX_NAME = b"././@PaxHeader"


def _octal(value: int, width: int) -> bytes:
    return b"%0*o\0" % (width - 1, value)


def _split_ustar_name(name: bytes) -> tuple[bytes, bytes] | None:
    """Returns (prefix, name) for a path that fits the USTAR fields, else None."""
    if len(name) <= 100:
        return b"", name
    # Split at a '/' so that prefix <= 155 bytes and the rest <= 100 bytes.
    start = max(0, len(name) - 101)
    cut = name.find(b"/", start)
    while cut != -1 and cut <= 155:
        if 0 < len(name) - cut - 1 <= 100:
            return name[:cut], name[cut + 1 :]
        cut = name.find(b"/", cut + 1)
    return None


_ZERO_OCTAL_8 = b"0000000\0"
_USTAR_MAGIC = b"ustar\x0000"
# Sum of the fields that never change (uid, gid, magic, names, devices) plus the
# checksum field itself, which counts as eight spaces.
_CONSTANT_SUM = sum(_ZERO_OCTAL_8) * 4 + sum(_USTAR_MAGIC) + 8 * 32


def _header(
    name: bytes,
    mode: int,
    size: int,
    mtime: int,
    typeflag: bytes,
    linkname: bytes = b"",
    prefix: bytes = b"",
) -> bytes:
    mode_f = _octal(mode, 8)
    size_f = _octal(size, 12)
    mtime_f = _octal(mtime, 12)
    checksum = _CONSTANT_SUM + sum(name) + sum(mode_f) + sum(size_f) + sum(mtime_f)
    checksum += typeflag[0] + sum(linkname) + sum(prefix)
    return b"".join(
        (
            name.ljust(100, b"\0"),
            mode_f,
            _ZERO_OCTAL_8,  # uid
            _ZERO_OCTAL_8,  # gid
            size_f,
            mtime_f,
            b"%06o\0 " % checksum,
            typeflag,
            linkname.ljust(100, b"\0"),
            _USTAR_MAGIC,
            b"\0" * 64,  # uname, gname
            _ZERO_OCTAL_8,  # devmajor
            _ZERO_OCTAL_8,  # devminor
            prefix.ljust(155, b"\0"),
            b"\0" * 12,
        )
    )


def _pax_records(records: dict[str, bytes]) -> bytes:
    out = bytearray()
    for key in sorted(records):
        body = b" " + key.encode("utf-8") + b"=" + records[key] + b"\n"
        length = len(body) + 1
        while len(str(length)) + len(body) != length:
            length = len(str(length)) + len(body)
        out += str(length).encode("ascii") + body
    return bytes(out)


def file_mode(st_mode: int) -> int:
    """0755 for anything executable by someone, else 0644: nothing of the umask survives."""
    return 0o755 if st_mode & 0o111 else 0o644


def padding(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


def entry_header(
    path: str,
    typeflag: bytes,
    mode: int,
    size: int,
    mtime: int,
    linkname: str = "",
) -> bytes:
    """The header block(s) of one entry: a PAX header first where USTAR cannot hold it."""
    name = path.encode("utf-8")
    link = linkname.encode("utf-8")
    if len(name) <= 100 and len(link) <= 100 and size <= _MAX_OCTAL_SIZE:
        return _header(name, mode, size, mtime, typeflag, link)  # nearly every entry
    pax: dict[str, bytes] = {}
    split = _split_ustar_name(name)
    if split is None:
        pax["path"] = name
        prefix, short = b"", name[:100]
    else:
        prefix, short = split
    if len(link) > 100:
        pax["linkpath"] = link
        link = link[:100]
    if size > _MAX_OCTAL_SIZE:
        pax["size"] = str(size).encode("ascii")
    header = _header(short, mode, 0 if "size" in pax else size, mtime, typeflag, link, prefix)
    if not pax:
        return header
    data = _pax_records(pax)
    return _header(_PAX_NAME, 0o644, len(data), mtime, PAXTYPE) + data + padding(len(data)) + header


def end_of_archive(written: int) -> bytes:
    """Two zero blocks, then zeros up to the next full record."""
    end = written + 2 * BLOCK
    return b"\0" * (2 * BLOCK + (-end % RECORD))
