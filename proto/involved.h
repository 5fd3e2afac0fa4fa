/* SPDX-License-Identifier: MIT — crmpubsub */
/* The involved-contacts rule of broadcast_interaction and
 * broadcast_to_contacts: subject then parties, nulls dropped, deduplicated
 * after canonicalisation, first occurrence kept, at most max entries as sent. */
#ifndef CRMPUBSUB_INVOLVED_H
#define CRMPUBSUB_INVOLVED_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "proto_error.h"
#include "uuid_canon.h"

/* From an interaction object {"uuid","contact_uuid","parties":[...]}: fills
 * interaction_uuid and out, or returns -1 with f set. */
int	involved_from_interaction(const json_t *interaction, size_t max,
	    uint8_t interaction_uuid[16], struct uuid_list *out,
	    struct proto_fail *f);
/* From broadcast_to_contacts' interaction_uuid and contact_uuids values:
 * fills iu and out, or returns -1 with f set (the list's shape is judged
 * before the interaction's UUID, that before the list's entries). */
int	involved_from_contacts(const json_t *interaction_uuid,
	    const json_t *contact_uuids, size_t max, uint8_t iu[16],
	    struct uuid_list *out, struct proto_fail *f);
/* From a contact_uuids array (UUID strings or null). */
int	involved_from_list(const json_t *contact_uuids, size_t max,
	    struct uuid_list *out, struct proto_fail *f);
/* Parses one optional UUID field value: 1 parsed, 0 null/absent, -1 bad. */
int	involved_uuid_field(const json_t *v, uint8_t out[16]);

#endif
