"""The SQLite ledger's writer process: `sync="full"` commits off the event loop and out of its GIL.

A durable commit waits for an fsync of the WAL. On a thread of the serving process (the committer
thread) each commit takes the GIL back from the event loop half a dozen times (after every SQLite
call), and every hand-over is a futex round trip across the two vCPUs of this machine: 27 futex
calls a request against 5 without the thread (`strace -c`, concurrency 16). A child process that
does the whole commit leaves the loop one `send` per loop iteration (the records handed over in
it, together) and one `recv` per committed batch. Measured with `bench/bench_proxy.py`'s servers
at concurrency 16: the loop thread's CPU per request fell by 0.35–0.5 ms (docs/benchmarks.md,
"Proxy"). With one `send` per record the writer read, committed and fsynced 1.8 records at a
time at concurrency 16; with one per iteration, 4.3–4.5.

Protocol, over a socket pair, newline-delimited UTF-8 in both directions:
- parent → child: one record per line, as JSON (`ledger.hand_over_line`: never a raw newline);
- child → parent: one line per record, in order: its seq, or `!` and the error's type.

The child commits everything it has read so far in one transaction (`commit_entries`: the chain
head is read inside `BEGIN IMMEDIATE`, as for every writer of the file), so records that arrive
during a commit share the next fsync. At EOF from the parent it commits what it has read, answers
and exits; it also exits when the parent dies (the socket closes). If the child dies, every record
not yet answered fails with `LedgerError` — committed or not, the caller fails closed — and the
ledger starts a new writer for the next record.

The child runs this file as a script (`python -I -S writer.py FD PATH SYNC ORJSON_DIR`) and
imports only the standard library, `guard.audit.ledger` (which imports nothing else) and orjson,
from the folder the serving process found it in, to parse the lines ≈ 3× faster than `json.loads`
(`ledger.read_hand_over_line`; without it, `json.loads` does): about 25 MB resident and 0.1 s to
start, not the serving process's 250 MB.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Under glibc's mmap threshold (128 KiB): a larger buffer is a fresh mmap for every `recv`, then
# an mremap and an munmap (three system calls and a page fault per record in the writer, seen with
# `strace -c`). A larger record just takes several reads.
_RECV = 1 << 16


def _load_ledger_module() -> types.ModuleType:
    """`guard.audit.ledger` without running `guard/__init__.py` (which loads the whole engine)."""
    if "guard.audit.ledger" not in sys.modules:
        root = Path(__file__).resolve().parent.parent
        for name, path in (("guard", root), ("guard.audit", root / "audit")):
            if name not in sys.modules:
                pkg = types.ModuleType(name)
                pkg.__path__ = [str(path)]
                sys.modules[name] = pkg
    import guard.audit.ledger as ledger

    return ledger


# -- the child ---------------------------------------------------------------------------------


def serve(fd: int, path: str, sync: str, orjson_dir: str = "") -> None:
    """The child's loop: read records, commit each read's records in one transaction, answer.

    `orjson_dir` is where the serving process found orjson: the child, which runs without site
    packages, parses the hand-over lines with it (`ledger.read_hand_over_line`).
    """
    if orjson_dir:
        sys.path.append(orjson_dir)
    # It lives as long as its socket: a Ctrl-C or a SIGTERM to the whole process group (a
    # terminal, systemd's control-group kill) must not end it before the server's shutdown has
    # handed over its last records; EOF from the server does.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    ledger = _load_ledger_module()
    conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    ledger.configure_writer(conn, sync)  # checkpoints are the serving process's checkpointer's
    sock = socket.socket(fileno=fd)
    pending = b""
    try:
        while True:
            data = sock.recv(_RECV)
            if not data:
                break
            pending += data
            if b"\n" not in data:
                continue
            *lines, pending = pending.split(b"\n")
            sock.sendall(_commit_lines(ledger, conn, lines))
    except (ConnectionError, OSError):
        pass  # the serving process is gone: nobody waits for an answer
    finally:
        conn.close()
        sock.close()


def _commit_lines(ledger: types.ModuleType, conn: sqlite3.Connection, lines: list[bytes]) -> bytes:
    entries: list[dict[str, Any]] = []
    answers: list[bytes | None] = []  # None: the seq of the next committed entry
    for line in lines:
        try:
            entries.append(ledger.read_hand_over_line(line))
            answers.append(None)
        except ValueError as exc:
            answers.append(b"!" + type(exc).__name__.encode())
    seqs: list[int] = []
    error: bytes | None = None
    if entries:
        try:
            seqs = ledger.commit_entries(conn, entries)
        except Exception as exc:
            error = b"!" + type(exc).__name__.encode()
    it = iter(seqs)
    out = [a if a is not None else (error if error is not None else str(next(it)).encode()) for a in answers]
    return b"\n".join(out) + b"\n"


# -- the parent --------------------------------------------------------------------------------


def _orjson_dir() -> str:
    """The folder orjson is imported from here ("" without it): the child adds it to its path."""
    try:
        import orjson
    except ImportError:
        return ""
    where = Path(orjson.__file__).resolve().parent  # a package's folder, or a module's
    return str(where.parent if hasattr(orjson, "__path__") else where)


class WriterChannel:
    """One writer process serving the `append_async` calls of one event loop.

    `submit` and the socket's callbacks run on that loop; `close` may be called from any thread.
    """

    def __init__(
        self,
        path: Path,
        sync: str,
        loop: asyncio.AbstractEventLoop,
        *,
        on_commit: Callable[[], None] = lambda: None,
        error: type[Exception] = RuntimeError,
    ) -> None:
        parent, child = socket.socketpair()
        try:
            self._proc = subprocess.Popen(
                [
                    sys.executable,
                    "-I",
                    "-S",
                    str(Path(__file__).resolve()),
                    str(child.fileno()),
                    str(path),
                    sync,
                    _orjson_dir(),
                ],
                pass_fds=(child.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        parent.setblocking(False)
        self._sock = parent
        self._fd = parent.fileno()
        self._loop = loop
        self._on_commit = on_commit
        self._error = error
        self._waiters: collections.deque[asyncio.Future[int]] = collections.deque()
        self._rbuf = b""
        self._wbuf = bytearray()
        self._sending = False  # `_wbuf` is due out: a flush is scheduled or waits for room
        self._waiting_room = False  # `_writable` is registered for the socket's room
        self.broken = False
        self.answered = 0  # records answered so far (0 when it broke: it never worked)
        self._closing = False
        self._ended = threading.Event()  # set once every record handed over has been settled
        loop.add_reader(self._fd, self._readable)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    @property
    def pid(self) -> int:
        return self._proc.pid

    def submit(self, line: bytes) -> asyncio.Future[int]:
        """Hand one record (a JSON line ending in a newline) to the writer; its seq once committed.

        The records handed over in one iteration of the loop go out in one `send` at its end.
        """
        fut: asyncio.Future[int] = self._loop.create_future()
        if self.broken:
            fut.set_exception(self._gone())
            return fut
        self._waiters.append(fut)
        self._wbuf += line
        if not self._sending:  # not yet due out (a flush is scheduled, or the socket is full)
            self._sending = True
            self._loop.call_soon(self._writable)
        return fut

    def _writable(self) -> None:
        if self.broken:
            return
        try:
            sent = self._sock.send(self._wbuf)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as exc:
            self._fail(exc)
            return
        del self._wbuf[:sent]
        if self._wbuf:
            if not self._waiting_room:
                self._waiting_room = True
                self._loop.add_writer(self._fd, self._writable)
            return
        if self._waiting_room:
            self._waiting_room = False
            self._loop.remove_writer(self._fd)
        self._sending = False
        if self._closing:
            self._shutdown_write()

    def _readable(self) -> None:
        try:
            data = self._sock.recv(_RECV)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._fail(exc)
            return
        if not data:
            self._fail(None)
            return
        self._answer(data)

    def _answer(self, data: bytes) -> None:
        self._rbuf += data
        if b"\n" not in data:
            return
        *lines, self._rbuf = self._rbuf.split(b"\n")
        for line in lines:
            if not self._waiters:  # an answer nobody asked for: the protocol is broken
                self._fail(None)
                return
            failed = line[:1] == b"!"
            if not failed and not line.isdigit():  # not an answer of this protocol
                self._fail(None)
                return
            fut = self._waiters.popleft()
            self.answered += 1
            if fut.done():  # its task was cancelled; the record is committed all the same
                continue
            if failed:
                fut.set_exception(self._error(f"ledger write failed: {line[1:].decode('ascii', 'replace')}"))
            else:
                fut.set_result(int(line))
        self._on_commit()

    def _fail(self, cause: BaseException | None) -> None:
        """The writer is gone (or the socket broke): every record not yet answered fails closed."""
        if self.broken:
            return
        self.broken = True
        self._loop.remove_reader(self._fd)
        self._loop.remove_writer(self._fd)
        self._sock.close()
        self._fail_waiters(cause)
        if not self._closing:  # the writer died or the socket broke: make sure it is gone
            with contextlib.suppress(OSError):
                self._proc.kill()
        self._ended.set()

    def _gone(self, cause: BaseException | None = None) -> Exception:
        exc = self._error("ledger write failed: the writer process is gone")
        exc.__cause__ = cause
        return exc

    def _fail_waiters(self, cause: BaseException | None) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_exception(self._gone(cause))

    def close(self, timeout: float = 30.0) -> None:
        """Commit what was handed over, settle its callers, end the process.

        On the loop's own thread (a server's shutdown) this blocks until the writer has answered.
        From another thread while the loop runs, the loop settles the answers as usual and this
        waits for the writer's end (the loop is never blocked for it).
        """
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not loop and loop.is_running():
            try:
                loop.call_soon_threadsafe(self._shutdown_write)
            except RuntimeError:  # closed meanwhile: nobody waits
                pass
            else:
                self._ended.wait(timeout)
        else:
            self._drain(timeout)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout)
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def _shutdown_write(self) -> None:
        """No more records: the child commits what it read, answers, exits (then EOF here)."""
        self._closing = True
        if self.broken or self._wbuf:  # _writable shuts down once the rest is sent
            return
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            self._fail(exc)

    def _drain(self, timeout: float) -> None:
        if self.broken:
            return
        if self._loop.is_closed():
            self._waiters.clear()  # nobody can await these futures any more
        else:
            self._loop.remove_reader(self._fd)
            self._loop.remove_writer(self._fd)
        sock = self._sock
        try:
            sock.settimeout(timeout)
            if self._wbuf:
                sock.sendall(self._wbuf)
                self._wbuf.clear()
            sock.shutdown(socket.SHUT_WR)  # the child commits what it read, answers, exits
            while self._waiters:
                data = sock.recv(_RECV)
                if not data:
                    break
                self._answer(data)
        except OSError:
            pass
        self.broken = True
        sock.close()
        self._fail_waiters(None)
        self._ended.set()


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], sys.argv[3], *sys.argv[4:5])
