/* SPDX-License-Identifier: MIT — crmpubsub */
/* Federation messages: channel names and payloads, built and parsed. A
 * payload comes from anyone allowed to PUBLISH on Redis, so parsing takes
 * nothing on trust: every field is checked, nothing else may follow. */

#include <string.h>

#include "fedmsg.h"

/* Writes prefix + canonical topic name. */
size_t
fedmsg_channel(const char *prefix, size_t prefix_len, const struct topic_key *k,
    char out[FEDMSG_CHANNEL_MAX + 1])
{
	memcpy(out, prefix, prefix_len);
	return prefix_len + topic_format(k, out + prefix_len);
}

/* The topic named after the prefix. */
int
fedmsg_channel_topic(const char *prefix, size_t prefix_len, const char *chan,
    size_t len, struct topic_key *out)
{
	if (len <= prefix_len || memcmp(chan, prefix, prefix_len) != 0)
		return -1;
	return topic_parse(chan + prefix_len, len - prefix_len, out);
}

/* Writes "<origin> <event> <interaction>". */
size_t
fedmsg_format(const struct fedmsg *m, char out[FEDMSG_MAX + 1])
{
	const char	*ev = event_name(m->event);
	size_t		 evlen = strlen(ev);
	char		*p = out;

	uuid_canon_format(m->origin, p);
	p += UUID_TEXT_LEN;
	*p++ = ' ';
	memcpy(p, ev, evlen);
	p += evlen;
	*p++ = ' ';
	uuid_canon_format(m->interaction, p);
	return (size_t)(p + UUID_TEXT_LEN - out);
}

/* Splits at the fixed-width UUIDs at both ends; the event lies between. */
int
fedmsg_parse(const char *s, size_t len, struct fedmsg *out)
{
	const char	*ev, *sp;

	if (len < 2 * UUID_TEXT_LEN + 3 || s[UUID_TEXT_LEN] != ' ')
		return -1;
	ev = s + UUID_TEXT_LEN + 1;
	sp = s + len - UUID_TEXT_LEN - 1;
	if (*sp != ' ' ||
	    uuid_canon_parse(s, UUID_TEXT_LEN, out->origin) == -1 ||
	    event_parse(ev, (size_t)(sp - ev), &out->event) == -1 ||
	    uuid_canon_parse(sp + 1, UUID_TEXT_LEN, out->interaction) == -1)
		return -1;
	return 0;
}
