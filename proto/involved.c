/* SPDX-License-Identifier: MIT — crmpubsub */
/* The involved-contacts rule shared by both broadcast forms: subject first,
 * then parties; nulls dropped; canonical duplicates dropped, first kept. */

#include "involved.h"

/* 1 parsed, 0 absent or null, -1 anything but a UUID string. */
int
involved_uuid_field(const json_t *v, uint8_t out[16])
{
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	return uuid_canon_parse(json_string_value(v), json_string_length(v),
	    out) == 0 ? 1 : -1;
}

/* Adds an optional UUID value to out: 0 added (or null), 1 not a UUID
 * (the caller names it), -1 out of memory (f set). */
static int
involved_add(const json_t *v, struct uuid_list *out, struct proto_fail *f)
{
	uint8_t	u[16];
	int	r = involved_uuid_field(v, u);

	if (r == -1)
		return 1;
	if (r == 1 && uuid_list_add(out, u) == -1)
		return proto_failf(f, PERR_INTERNAL, "out of memory");
	return 0;
}

int
involved_from_interaction(const json_t *interaction, size_t max,
    uint8_t interaction_uuid[16], struct uuid_list *out, struct proto_fail *f)
{
	const json_t	*parties, *party;
	size_t		 i, nparties = 0;
	int		 r;

	if (!json_is_object(interaction))
		return proto_failf(f, PERR_BAD_REQUEST,
		    "interaction must be an object");
	/* Parties not preloaded (missing, null, not an array) count as none. */
	parties = json_object_get(interaction, "parties");
	if (json_is_array(parties)) {
		nparties = json_array_size(parties);
		json_array_foreach(parties, i, party) {
			if (!json_is_object(party))
				return proto_failf(f, PERR_BAD_REQUEST,
				    "parties[%zu] must be an object", i);
		}
	}
	if (nparties + 1 > max)
		return proto_failf(f, PERR_TOO_MANY,
		    "%zu parties plus the subject exceed max_contacts (%zu)",
		    nparties, max);
	if (involved_uuid_field(json_object_get(interaction, "uuid"),
	    interaction_uuid) != 1)
		return proto_failf(f, PERR_BAD_UUID,
		    "interaction.uuid must be a UUID");
	r = involved_add(json_object_get(interaction, "contact_uuid"), out, f);
	if (r != 0)
		return r == 1 ? proto_failf(f, PERR_BAD_UUID,
		    "interaction.contact_uuid is not a UUID") : -1;
	for (i = 0; i < nparties; i++) {
		party = json_array_get(parties, i);
		r = involved_add(json_object_get(party, "contact_uuid"), out, f);
		if (r != 0)
			return r == 1 ? proto_failf(f, PERR_BAD_UUID,
			    "parties[%zu].contact_uuid is not a UUID", i) : -1;
	}
	return 0;
}

/* The shape of a contact_uuids list: an array of at most max entries. */
static int
involved_list_shape(const json_t *contact_uuids, size_t max,
    struct proto_fail *f)
{
	if (!json_is_array(contact_uuids))
		return proto_failf(f, PERR_BAD_REQUEST,
		    "contact_uuids must be an array");
	if (json_array_size(contact_uuids) > max)
		return proto_failf(f, PERR_TOO_MANY,
		    "%zu contact_uuids exceed max_contacts (%zu)",
		    json_array_size(contact_uuids), max);
	return 0;
}

int
involved_from_contacts(const json_t *interaction_uuid,
    const json_t *contact_uuids, size_t max, uint8_t iu[16],
    struct uuid_list *out, struct proto_fail *f)
{
	if (involved_list_shape(contact_uuids, max, f) == -1)
		return -1;
	if (involved_uuid_field(interaction_uuid, iu) != 1)
		return proto_failf(f, PERR_BAD_UUID,
		    "interaction_uuid must be a UUID");
	return involved_from_list(contact_uuids, max, out, f);
}

int
involved_from_list(const json_t *contact_uuids, size_t max,
    struct uuid_list *out, struct proto_fail *f)
{
	const json_t	*v;
	size_t		 i;
	int		 r;

	if (involved_list_shape(contact_uuids, max, f) == -1)
		return -1;
	json_array_foreach(contact_uuids, i, v) {
		if ((r = involved_add(v, out, f)) != 0)
			return r == 1 ? proto_failf(f, PERR_BAD_UUID,
			    "contact_uuids[%zu] is not a UUID", i) : -1;
	}
	return 0;
}
