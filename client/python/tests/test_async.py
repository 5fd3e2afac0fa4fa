# SPDX-License-Identifier: MIT — crmpubsub
"""asyncio: amessages() through loop.add_reader on the library's
descriptor, several iterators at once, cancellation, close() ending the
iteration, and a plain add_reader loop on fileno()."""

import asyncio
import threading

import crmpubsub
from crmtest import TIMEOUT, topic_n, uuid_n


def run(coro):
    """Runs a coroutine, bounded by TIMEOUT."""
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT))


def test_amessages_receives_while_the_loop_broadcasts(daemon, clients):
    sub = clients(daemon.sock)
    pub = clients(daemon.sock)
    assert sub.subscribe(topic_n(1))

    async def main():
        got = []

        async def writer():
            for i in range(20):
                pub.broadcast_to_contacts("created", uuid_n(i), [uuid_n(1)])
                await asyncio.sleep(0)
        w = asyncio.ensure_future(writer())
        async for m in sub.amessages():
            got.append(m.interaction_uuid)
            if len(got) == 20:
                break
        await w
        return got
    assert run(main()) == [uuid_n(i) for i in range(20)]


def test_two_iterators_share_the_messages(daemon, clients):
    sub = clients(daemon.sock)
    pub = clients(daemon.sock)
    assert sub.subscribe(topic_n(1))
    n = 200

    async def main():
        got = []
        done = asyncio.Event()

        async def reader():
            async for m in sub.amessages():
                got.append(m.interaction_uuid)
                if len(got) >= n:
                    done.set()
        readers = [asyncio.ensure_future(reader()) for _ in range(2)]
        await asyncio.sleep(0)
        for i in range(n):
            pub.broadcast_to_contacts("created", uuid_n(i), [uuid_n(1)])
        await done.wait()
        for r in readers:
            r.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        return got
    got = run(main())
    assert sorted(got) == [uuid_n(i) for i in range(n)]
    # Cancelled iterators leave nothing registered: the client still
    # works, blocking and async.
    pub.broadcast_to_contacts("created", uuid_n(999), [uuid_n(1)])
    assert sub.next_message(5).interaction_uuid == uuid_n(999)


def test_close_ends_the_async_iteration(daemon, clients):
    sub = clients(daemon.sock)
    assert sub.subscribe(topic_n(1))

    async def main():
        got = []

        async def reader():
            async for m in sub.amessages():
                got.append(m)
            return "ended"
        r = asyncio.ensure_future(reader())
        await asyncio.sleep(0.05)
        sub.close()
        return await r, got
    assert run(main()) == ("ended", [])


def test_close_from_another_thread_ends_the_async_iteration(daemon, clients):
    sub = clients(daemon.sock)

    async def main():
        loop = asyncio.get_running_loop()
        started = asyncio.Event()

        async def reader():
            started.set()
            async for _ in sub.amessages():
                pass
            return "ended"
        r = asyncio.ensure_future(reader())
        await started.wait()
        t = threading.Thread(target=sub.close)
        await loop.run_in_executor(None, t.start)
        result = await r
        await loop.run_in_executor(None, t.join, TIMEOUT)
        return result
    assert run(main()) == "ended"


def test_add_reader_on_fileno(daemon, clients):
    """The descriptor alone is enough for an event loop: readable while
    next_message(0) has something."""
    sub = clients(daemon.sock)
    assert sub.subscribe(topic_n(1))

    async def main():
        loop = asyncio.get_running_loop()
        got = asyncio.Queue()

        def readable():
            while (m := sub.next_message(0)) is not None:
                got.put_nowait(m)
        loop.add_reader(sub.fileno(), readable)
        try:
            sub.broadcast_to_contacts("deleted", uuid_n(5), [uuid_n(1)])
            return await got.get()
        finally:
            loop.remove_reader(sub.fileno())
    assert run(main()) == crmpubsub.Crm("interaction_deleted", topic_n(1),
                                        uuid_n(1), uuid_n(5))
