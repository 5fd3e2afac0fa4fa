# SPDX-License-Identifier: MIT — crmpubsub
"""crmpubsub: the Python client of crmpubsubd, a binding (ctypes, standard
library only) over libcrmpubsub.so.1, so Python shares the C library's
reconnection, re-subscription, coalescing and resync logic.

    import crmpubsub
    with crmpubsub.Client(name="invoice-worker") as c:
        c.broadcast_interaction("interaction_created", interaction)

See client/python/README.md (or docs/client.md, "Python")."""

from ._args import EVENTS
from .client import Client, SubscribeError
from .functions import (involved_contact_uuids, library_path,
                        topic_contact_interactions, version)
from .messages import RESYNC_REASONS, Crm, Message, Resync, Shutdown

__all__ = [
    "Client", "Crm", "EVENTS", "Message", "RESYNC_REASONS", "Resync",
    "Shutdown", "SubscribeError", "involved_contact_uuids", "library_path",
    "topic_contact_interactions", "version",
]
__version__ = "1.0.0"
