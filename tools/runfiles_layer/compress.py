"""Compressed output: gzip (pigz-style parallel blocks) and zstd (zstandard threads).

Each sink's bytes depend only on the bytes written and the level, never on the number of
threads: gzip blocks are cut at fixed offsets, and zstd always runs in its multi-threaded
mode, whose output is the same for any worker count >= 1.
"""

from __future__ import annotations

import collections
import os
import struct
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import concurrent.futures

from runfiles_layer.inputs import Content, read_chunks

COMPRESSIONS = ("none", "gzip", "zstd")
DEFAULT_LEVELS = {"none": 0, "gzip": 6, "zstd": 3}
EXTENSIONS = {"none": ".tar", "gzip": ".tar.gz", "zstd": ".tar.zst"}

_BATCH = 1 << 20
_GZIP_BLOCK = 1 << 17  # pigz's default block size
_GZIP_WINDOW = 1 << 15  # each block is primed with the previous 32 KiB, as pigz does


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


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
        import concurrent.futures  # only here: it costs uncompressed layers 7 ms to import

        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=threads)
        self._pending: collections.deque[concurrent.futures.Future[bytes]] = collections.deque()
        self._max_pending = 2 * threads + 2
        self._buf = bytearray()
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

    def write(self, data: bytes) -> None:
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        self._buf += data
        while len(self._buf) >= _GZIP_BLOCK:
            self._submit(bytes(self._buf[:_GZIP_BLOCK]), last=False)
            del self._buf[:_GZIP_BLOCK]

    def write_content(self, content: Content) -> None:
        for chunk in read_chunks(content):
            self.write(chunk)

    def abort(self) -> None:
        self._pool.shutdown(cancel_futures=True)

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

    def write(self, data: bytes) -> None:
        self._buf += data
        if len(self._buf) >= _BATCH:
            self._writer.write(self._buf)
            self._buf = bytearray()

    def write_content(self, content: Content) -> None:
        for chunk in read_chunks(content):
            self.write(chunk)

    def abort(self) -> None:
        self._file.close()

    def close(self) -> None:
        self._writer.write(self._buf)
        self._writer.close()  # type: ignore[no-untyped-call,unused-ignore]
        self._file.close()


def open_sink(
    out_fd: int, compression: str, level: int | None, threads: int
) -> GzipSink | ZstdSink:
    """A gzip or zstd sink; uncompressed output is written by `plain` instead."""
    if level is None:
        level = DEFAULT_LEVELS[compression]
    if compression == "gzip":
        if not 0 <= level <= 9:
            raise ValueError(f"gzip level must be 0..9, got {level}")
        return GzipSink(out_fd, level, threads)
    if compression == "zstd":
        if not 1 <= level <= 22:
            raise ValueError(f"zstd level must be 1..22, got {level}")
        return ZstdSink(out_fd, level, threads)
    raise ValueError(f"no sink for compression {compression!r}; use one of gzip, zstd")
