/* SPDX-License-Identifier: MIT — crmpubsub */
/* Topic names.
 *
 * Grammar: a topic is  prefix UUID suffix  for one family of the table below,
 * UUID being anything uuid_parse(3) accepts (36 chars, any case). The
 * canonical name uses the lowercase UUID. A new topic family is one more
 * table row and one more enum value; nothing else in the daemon changes.
 */

#include <string.h>

#include "topic.h"

struct topic_family_def {
	const char	*prefix;
	size_t		 prefix_len;
	const char	*suffix;
	size_t		 suffix_len;
};

#define FAMILY(p, s)	{ p, sizeof(p) - 1, s, sizeof(s) - 1 }

static const struct topic_family_def topic_families[TOPIC_NFAMILIES] = {
	[TOPIC_CONTACT_INTERACTIONS] = FAMILY("crm:contact:", ":interactions"),
};

/* Parses a topic name of any family. */
int
topic_parse(const char *s, size_t len, struct topic_key *out)
{
	const struct topic_family_def	*f;
	size_t				 i;

	for (i = 0; i < TOPIC_NFAMILIES; i++) {
		f = &topic_families[i];
		if (len != f->prefix_len + UUID_TEXT_LEN + f->suffix_len)
			continue;
		if (memcmp(s, f->prefix, f->prefix_len) != 0 ||
		    memcmp(s + len - f->suffix_len, f->suffix, f->suffix_len) != 0)
			continue;
		if (uuid_canon_parse(s + f->prefix_len, UUID_TEXT_LEN,
		    out->uuid) == -1)
			return -1;
		out->family = (uint8_t)i;
		return 0;
	}
	return -1;
}

/* Writes the canonical topic name. */
size_t
topic_format(const struct topic_key *k, char out[TOPIC_MAX_LEN + 1])
{
	const struct topic_family_def	*f = &topic_families[k->family];
	char				*p = out;

	memcpy(p, f->prefix, f->prefix_len);
	p += f->prefix_len;
	uuid_canon_format(k->uuid, p);
	p += UUID_TEXT_LEN;
	memcpy(p, f->suffix, f->suffix_len);
	p += f->suffix_len;
	*p = '\0';
	return (size_t)(p - out);
}

/* The contact interaction feed of a contact. */
void
topic_contact_interactions(const uint8_t contact[16], struct topic_key *out)
{
	out->family = TOPIC_CONTACT_INTERACTIONS;
	memcpy(out->uuid, contact, 16);
}
