# SPDX-License-Identifier: MIT — crmpubsub
"""The functions without a connection: topic names, the involved-contacts
rule, events, version; and the bad arguments they refuse."""

import types
import uuid

import pytest

import crmpubsub
from crmtest import uuid_n

U1, U2, U3 = uuid_n(1), uuid_n(2), uuid_n(3)


def test_topic_lowercases_and_accepts_uuid_objects():
    want = f"crm:contact:{U1}:interactions"
    assert crmpubsub.topic_contact_interactions(U1) == want
    assert crmpubsub.topic_contact_interactions(U1.upper()) == want
    assert crmpubsub.topic_contact_interactions(uuid.UUID(U1)) == want


@pytest.mark.parametrize("bad", [
    "", "nope", U1[:-1], U1 + "0", U1.replace("-", ""), "{" + U1 + "}",
    U1[:8] + "_" + U1[9:], U1[:-1] + "g", U1 + "\0", U1[:-1] + "\0",
    U1[:-1] + "\u0661",	# an Arabic-Indic digit: not a hex digit
])
def test_topic_refuses_what_is_not_a_uuid(bad):
    with pytest.raises(ValueError):
        crmpubsub.topic_contact_interactions(bad)


@pytest.mark.parametrize("bad", [None, 1, b"x", 1.5, [U1]])
def test_topic_refuses_other_types(bad):
    with pytest.raises((TypeError, ValueError)):
        crmpubsub.topic_contact_interactions(bad)
    if bad is not None:
        with pytest.raises(TypeError):
            crmpubsub.topic_contact_interactions(bad)


def test_involved_subject_then_parties_none_dropped_deduplicated():
    it = {"uuid": "not looked at", "contact_uuid": U2.upper(),
          "parties": [{"contact_uuid": None}, {"contact_uuid": U1},
                      {"contact_uuid": U2}, {"contact_uuid": U1.upper()},
                      {}]}
    assert crmpubsub.involved_contact_uuids(it) == [U2, U1]


def test_involved_from_objects_and_uuid_objects():
    party = types.SimpleNamespace
    it = types.SimpleNamespace(uuid=None, contact_uuid=None,
                               parties=(party(contact_uuid=uuid.UUID(U3)),
                                        party(contact_uuid=U1)))
    assert crmpubsub.involved_contact_uuids(it) == [U3, U1]


@pytest.mark.parametrize("parties", [None, "not loaded", {U1: U1},
                                     object(), 5])
def test_involved_parties_not_a_list_count_as_none(parties):
    it = {"contact_uuid": U1, "parties": parties}
    assert crmpubsub.involved_contact_uuids(it) == [U1]
    it = types.SimpleNamespace(contact_uuid=None, parties=parties)
    assert crmpubsub.involved_contact_uuids(it) == []


def test_involved_refuses_a_bad_uuid_and_bad_types():
    with pytest.raises(ValueError):
        crmpubsub.involved_contact_uuids({"contact_uuid": "x"})
    with pytest.raises(ValueError):
        crmpubsub.involved_contact_uuids(
            {"contact_uuid": U1, "parties": [{"contact_uuid": "x"}]})
    with pytest.raises(TypeError):
        crmpubsub.involved_contact_uuids({"contact_uuid": 7})
    for bad in (None, "interaction", b"x"):
        with pytest.raises(TypeError):
            crmpubsub.involved_contact_uuids(bad)


def test_involved_many_parties():
    parties = [{"contact_uuid": uuid_n(i)} for i in range(2000)]
    got = crmpubsub.involved_contact_uuids({"parties": parties + parties})
    assert got == [uuid_n(i) for i in range(2000)]


def test_events_version_and_library():
    assert crmpubsub.EVENTS == ("interaction_created", "interaction_updated",
                                "interaction_deleted")
    assert crmpubsub.RESYNC_REASONS == ("lagged", "reconnected", "overflow",
                                        "subscribed", "federation")
    assert crmpubsub.version().split(".")[0] == "1"
    assert "libcrmpubsub" in crmpubsub.library_path()


def test_messages_are_plain_values():
    m = crmpubsub.Crm("interaction_created", "t", U1, U2)
    assert (m.event, m.topic, m.contact_uuid, m.interaction_uuid) == \
        ("interaction_created", "t", U1, U2)
    assert crmpubsub.Resync("lagged", 3).dropped == 3
    assert crmpubsub.Shutdown() == crmpubsub.Shutdown()
