"""Output sinks: plain tar, gzip (pigz-style parallel blocks) and zstd (zstandard threads).

Each sink's bytes depend only on the bytes written and the level, never on the number of
threads: gzip blocks are cut at fixed offsets, and zstd always runs in its multi-threaded
mode, whose output is the same for any worker count >= 1.
"""

from __future__ import annotations

import collections
import concurrent.futures
import errno
import os
import struct
import zlib
from typing import Protocol

COMPRESSIONS = ("none", "gzip", "zstd")
DEFAULT_LEVELS = {"none": 0, "gzip": 6, "zstd": 3}
EXTENSIONS = {"none": ".tar", "gzip": ".tar.gz", "zstd": ".tar.zst"}

_READ_CHUNK = 1 << 20
_GZIP_BLOCK = 1 << 17  # pigz's default block size
_GZIP_WINDOW = 1 << 15  # each block is primed with the previous 32 KiB, as pigz does


class _Writer(Protocol):
    def write(self, data: bytes | memoryview) -> None: ...


class Sink(Protocol):
    def write(self, data: bytes | memoryview) -> None: ...

    def write_file(self, fd: int, size: int) -> None:
        """Appends exactly `size` bytes read from `fd`."""

    def close(self) -> None: ...


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _short_read(size: int, copied: int) -> OSError:
    return OSError(errno.EIO, f"input shrank while being read: copied {copied} of {size} bytes")


def _copy_by_reading(src_fd: int, size: int, sink: _Writer, buf: bytearray) -> None:
    """Feeds `size` bytes of `src_fd` to `sink` through one reusable buffer."""
    view = memoryview(buf)
    copied = 0
    while copied < size:
        n = os.readv(src_fd, [view[: min(len(buf), size - copied)]])
        if not n:
            raise _short_read(size, copied)
        sink.write(view[:n])
        copied += n


class PlainSink:
    """Uncompressed: file contents move in the kernel with sendfile(), never through Python.

    Headers and padding are batched, so each file costs one write and one sendfile.
    """

    def __init__(self, out_fd: int) -> None:
        self._fd = out_fd
        self._kernel_copy = True
        self._buf = bytearray()
        self._read_buf = bytearray(_READ_CHUNK)

    def write(self, data: bytes | memoryview) -> None:
        self._buf += data
        if len(self._buf) >= _READ_CHUNK:
            self._flush()

    def _flush(self) -> None:
        _write_all(self._fd, self._buf)
        self._buf = bytearray()

    def write_file(self, fd: int, size: int) -> None:
        self._flush()
        copied = 0
        while self._kernel_copy and copied < size:
            try:
                n = os.sendfile(self._fd, fd, None, size - copied)
            except OSError as e:
                if e.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                    raise
                self._kernel_copy = False  # e.g. an output on a file system without it
                break
            if n == 0:
                raise _short_read(size, copied)
            copied += n
        if copied < size:
            _copy_by_reading(fd, size - copied, _RawWriter(self._fd), self._read_buf)

    def close(self) -> None:
        self._flush()


class _RawWriter:
    def __init__(self, fd: int) -> None:
        self._fd = fd

    def write(self, data: bytes | memoryview) -> None:
        _write_all(self._fd, data)


def _deflate_block(data: bytes, zdict: bytes, level: int, last: bool) -> bytes:
    if zdict:
        c = zlib.compressobj(level, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, zdict)
    else:
        c = zlib.compressobj(level, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY)
    return c.compress(data) + c.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


class GzipSink:
    """One gzip member made of raw-deflate blocks compressed in parallel, like pigz.

    Non-final blocks end in a sync flush (byte-aligned, not final), so their
    concatenation is a single valid deflate stream that plain `gzip -d` reads.
    """

    def __init__(self, out_fd: int, level: int, threads: int) -> None:
        self._fd = out_fd
        self._level = level
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=threads)
        self._pending: collections.deque[concurrent.futures.Future[bytes]] = collections.deque()
        self._max_pending = 2 * threads + 2
        self._buf = bytearray()
        self._read_buf = bytearray(_READ_CHUNK)
        self._window = b""
        self._crc = 0
        self._size = 0
        xfl = 2 if level == 9 else 4 if level == 1 else 0
        # No name, mtime 0, OS 255 ("unknown"): nothing from the machine or the clock.
        _write_all(out_fd, b"\x1f\x8b\x08\x00\x00\x00\x00\x00" + bytes([xfl, 255]))

    def _submit(self, block: bytes, last: bool) -> None:
        self._pending.append(
            self._pool.submit(_deflate_block, block, self._window, self._level, last)
        )
        self._window = block[-_GZIP_WINDOW:]
        while len(self._pending) > self._max_pending:
            _write_all(self._fd, self._pending.popleft().result())

    def write(self, data: bytes | memoryview) -> None:
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        self._buf += data
        while len(self._buf) >= _GZIP_BLOCK:
            self._submit(bytes(self._buf[:_GZIP_BLOCK]), last=False)
            del self._buf[:_GZIP_BLOCK]

    def write_file(self, fd: int, size: int) -> None:
        _copy_by_reading(fd, size, self, self._read_buf)

    def close(self) -> None:
        self._submit(bytes(self._buf), last=True)
        self._buf = bytearray()
        while self._pending:
            _write_all(self._fd, self._pending.popleft().result())
        self._pool.shutdown()
        _write_all(self._fd, struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))


class ZstdSink:
    """zstd through the `zstandard` package, always in multi-threaded mode."""

    def __init__(self, out_fd: int, level: int, threads: int) -> None:
        import zstandard  # type: ignore[import-untyped,unused-ignore]  # only zstd needs it

        self._file = os.fdopen(os.dup(out_fd), "wb", buffering=0)
        compressor = zstandard.ZstdCompressor(level=level, threads=max(1, threads))
        self._writer = compressor.stream_writer(self._file, closefd=False)
        self._buf = bytearray()  # batches the many small header writes
        self._read_buf = bytearray(_READ_CHUNK)

    def write(self, data: bytes | memoryview) -> None:
        self._buf += data
        if len(self._buf) >= _READ_CHUNK:
            self._writer.write(self._buf)
            self._buf = bytearray()

    def write_file(self, fd: int, size: int) -> None:
        _copy_by_reading(fd, size, self, self._read_buf)

    def close(self) -> None:
        self._writer.write(self._buf)
        self._writer.close()  # type: ignore[no-untyped-call,unused-ignore]
        self._file.close()


def open_sink(out_fd: int, compression: str, level: int | None, threads: int) -> Sink:
    if level is None:
        level = DEFAULT_LEVELS[compression]
    if compression == "none":
        return PlainSink(out_fd)
    if compression == "gzip":
        if not 0 <= level <= 9:
            raise ValueError(f"gzip level must be 0..9, got {level}")
        return GzipSink(out_fd, level, threads)
    if compression == "zstd":
        if not 1 <= level <= 22:
            raise ValueError(f"zstd level must be 1..22, got {level}")
        return ZstdSink(out_fd, level, threads)
    raise ValueError(f"unknown compression {compression!r}; use one of {COMPRESSIONS}")
