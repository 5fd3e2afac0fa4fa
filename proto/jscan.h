/* SPDX-License-Identifier: MIT — crmpubsub */
/* An allocation-free scanner for a strict subset of JSON, for hot paths.
 * It accepts only what it can read without doubt (ASCII strings without
 * escapes, plain numbers, shallow nesting); anything else makes it give up,
 * and the caller falls back to jansson, which then decides. */
#ifndef CRMPUBSUB_JSCAN_H
#define CRMPUBSUB_JSCAN_H

#include <stddef.h>
#include <stdint.h>

enum jscan_type { JS_OBJECT, JS_ARRAY, JS_STRING, JS_NUMBER, JS_TRUE,
    JS_FALSE, JS_NULL };

struct jscan_tok {
	uint8_t		type;
	uint8_t		is_integer;	/* JS_NUMBER without '.', 'e' */
	uint16_t	end;		/* index of the token after this subtree */
	uint32_t	start;		/* offset of the text (strings: inside quotes) */
	uint32_t	len;
};

#define JSCAN_MAX_TOKENS	1024	/* the most any scanner is given */
#define JSCAN_MAX_DEPTH		16

/* A scanner fills the caller's token array; a text with more tokens than
 * it holds is outside the subset. */
struct jscan {
	const char		*text;
	size_t			 ntok;
	size_t			 cap;		/* at most JSCAN_MAX_TOKENS */
	struct jscan_tok	*tok;
};

/* A scanner over the token array toks (an array, not a pointer). */
#define JSCAN_ON(toks)	{ NULL, 0, sizeof(toks) / sizeof((toks)[0]), (toks) }

/* Scans one JSON value filling the whole line (whitespace around it
 * allowed): 0, or -1 when the text is outside the subset or not JSON. */
int	jscan_parse(struct jscan *, const char *text, size_t len);
/* Token index of key's value in object token obj; -1 when absent (or obj
 * is no object), -2 when the key appears more than once (ambiguous: give
 * up). */
int	jscan_get(const struct jscan *, int obj, const char *key);
/* jscan_get taking the last of repeated keys, as jansson does. */
int	jscan_get_last(const struct jscan *, int obj, const char *key);
/* Visits each element t of array token arr (objects hold name/value
 * pairs: step with t = tok[t + 1].end instead). */
#define JSCAN_FOREACH(js, arr, t) \
	for ((t) = (arr) + 1; (t) < (js)->tok[(arr)].end; (t) = (js)->tok[(t)].end)
/* Whether string token t equals s. */
int	jscan_streq(const struct jscan *, int t, const char *s);

/* Outside the subset: calls fn with the offset and length of the value of
 * every top-level member named key (an ASCII name; escapes in the text's
 * names are decoded to compare) of the JSON object in text, in text order.
 * It only skips over values, so it reads any JSON, and leaves validating it
 * to jansson: 0 when it walked to the object's closing brace, else -1. */
int	jscan_each_member(const char *text, size_t len, const char *key,
	    void (*fn)(size_t off, size_t len, void *), void *arg);
/* Whether text is exactly one number of the JSON grammar, of any size. */
int	jscan_is_number(const char *text, size_t len);

#endif
