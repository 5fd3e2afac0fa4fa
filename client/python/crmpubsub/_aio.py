# SPDX-License-Identifier: MIT — crmpubsub
"""The asyncio side of Client: amessages(), waiting through
loop.add_reader on a duplicate of the library's descriptor.

Every loop with iterators waiting has one reader registered and a set of
futures; the reader completes them all and unregisters itself, so any
number of iterators share the descriptor and a readable descriptor never
spins a loop with nobody to read. The duplicate stays open until the
client is closed and no loop watches it any more, so a loop never watches
a number the library has closed (or that the process reused); it is
registered and unregistered under the client's lock, which close() takes
too."""

from __future__ import annotations

import asyncio
import os

CLOSED = object()	# what Client._take returns once the client is closing


class AsyncMessages:
    """Mixed into Client, which provides _lock, _closing, _fd and
    _take(timeout)."""

    def _aio_init(self) -> None:
        self._aio = {}		# event loop -> futures waiting for input
        self._aio_fd = -1	# our duplicate of the descriptor

    async def amessages(self):
        """Async iterator over messages for asyncio (waits through
        loop.add_reader on the library's descriptor); ends when the client
        is closed."""
        loop = asyncio.get_running_loop()
        while True:
            m = self._take(0)
            if m is CLOSED:
                return
            if m is not None:
                yield m
                continue
            fut = self._aio_wait(loop)
            if fut is None:
                return
            try:
                await fut
            finally:
                self._aio_forget(loop, fut)

    def _aio_wait(self, loop):
        """A future of loop that completes when input may be there; None
        when closing."""
        with self._lock:
            if self._closing:
                return None
            if self._aio_fd < 0:
                self._aio_fd = os.dup(self._fd)
            waiters = self._aio.get(loop)
            if waiters is None:
                waiters = self._aio[loop] = set()
                loop.add_reader(self._aio_fd, self._aio_wake, loop)
            fut = loop.create_future()
            waiters.add(fut)
            return fut

    def _aio_wake(self, loop) -> None:
        """The reader (in loop's thread): completes loop's waiters."""
        with self._lock:
            waiters = self._aio.pop(loop, ())
            if waiters:
                loop.remove_reader(self._aio_fd)
            self._aio_release()
        for f in waiters:
            if not f.done():
                f.set_result(None)

    def _aio_forget(self, loop, fut) -> None:
        """A waiter is done (woken or cancelled): unregisters it."""
        with self._lock:
            waiters = self._aio.get(loop)
            if waiters is not None and fut in waiters:
                waiters.discard(fut)
                if not waiters:
                    del self._aio[loop]
                    loop.remove_reader(self._aio_fd)
            self._aio_release()

    def _aio_loops(self) -> list:
        """The loops with waiters (called by close(), under the lock)."""
        return list(self._aio)

    def _aio_close(self, loops) -> None:
        """After close() marked the client closing: wakes every loop's
        waiters (in their own threads); closes the duplicate when none
        is left."""
        for loop in loops:
            try:
                loop.call_soon_threadsafe(self._aio_wake, loop)
            except RuntimeError:	# that loop is closed: nobody waits
                with self._lock:
                    self._aio.pop(loop, None)
        with self._lock:
            self._aio_release()

    def _aio_release(self) -> None:
        """Closes the duplicate once the client is closing and no loop
        watches it (called under the lock)."""
        if self._closing and not self._aio and self._aio_fd >= 0:
            os.close(self._aio_fd)
            self._aio_fd = -1
