/* SPDX-License-Identifier: MIT — crmpubsub */
/* A strict, allocation-free JSON scanner (see jscan.h).
 *
 * Subset: objects, arrays, literals; strings of printable ASCII without
 * backslashes; numbers of the JSON grammar with at most 15 digits and no
 * exponent, and no "-0". Every token records the index just past its
 * subtree, so a reader skips values it does not need in O(1).
 */

#include <stdint.h>
#include <string.h>

#include "jscan.h"

struct jscan_state {
	struct jscan	*js;
	const char	*p;
	const char	*end;
	int		 depth;
};

static int	scan_value(struct jscan_state *);

static void
skip_ws(struct jscan_state *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
	    *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/* Appends a token; -1 when the table is full. */
static int
new_tok(struct jscan_state *s, enum jscan_type type, const char *start)
{
	struct jscan_tok	*t;

	if (s->js->ntok >= s->js->cap || s->js->ntok >= JSCAN_MAX_TOKENS)
		return -1;
	t = &s->js->tok[s->js->ntok];
	t->type = (uint8_t)type;
	t->is_integer = 0;
	t->start = (uint32_t)(start - s->js->text);
	t->len = 0;
	return (int)s->js->ntok++;
}

static void
close_tok(struct jscan_state *s, int t)
{
	s->js->tok[t].end = (uint16_t)s->js->ntok;
}

/* Bytes allowed inside a subset string: printable ASCII except '"', '\\'. */
static int
plain_byte(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
}

/* Whether [r, q) holds plain bytes only, given that it holds no '"'. Eight
 * bytes at a time: a request is mostly UUID strings. Each test below is
 * exact about whether any byte matches (a borrow or carry can only spread
 * upwards from a byte that already matches). */
static int
plain_run(const char *r, const char *q)
{
	const uint64_t	ones = 0x0101010101010101ULL, highs = ones * 0x80;
	uint64_t	w, bs;

	for (; q - r >= 8; r += 8) {
		memcpy(&w, r, 8);
		bs = w ^ (ones * '\\');
		if ((((w - ones * 0x20) & ~w) |	/* a byte below 0x20 */
		    ((bs - ones) & ~bs) |		/* a backslash */
		    w | (w + ones)) & highs)		/* 0x7f or above */
			return 0;
	}
	for (; r < q; r++)
		if (!plain_byte((unsigned char)*r))
			return 0;
	return 1;
}

static int
scan_string(struct jscan_state *s)
{
	const char	*q;
	int		 t;

	s->p++;
	q = memchr(s->p, '"', (size_t)(s->end - s->p));
	if (q == NULL || !plain_run(s->p, q))
		return -1;
	if ((t = new_tok(s, JS_STRING, s->p)) == -1)
		return -1;
	s->js->tok[t].len = (uint32_t)(q - s->p);
	close_tok(s, t);
	s->p = q + 1;
	return t;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
scan_number(struct jscan_state *s)
{
	const char	*q = s->p;
	int		 t, digits = 0, integer = 1;

	if (*q == '-')
		q++;
	if (q < s->end && *q == '0') {
		q++;
		digits++;
		if (s->p[0] == '-' && (q >= s->end || *q != '.'))
			return -1;		/* "-0": leave it to jansson */
	} else if (q < s->end && is_digit(*q) && *q != '0') {
		while (q < s->end && is_digit(*q)) {
			q++;
			digits++;
		}
	} else
		return -1;
	if (q < s->end && *q == '.') {
		integer = 0;
		q++;
		if (q >= s->end || !is_digit(*q))
			return -1;
		while (q < s->end && is_digit(*q)) {
			q++;
			digits++;
		}
	}
	if (digits > 15 || (q < s->end && (*q == 'e' || *q == 'E')))
		return -1;
	if ((t = new_tok(s, JS_NUMBER, s->p)) == -1)
		return -1;
	s->js->tok[t].len = (uint32_t)(q - s->p);
	s->js->tok[t].is_integer = (uint8_t)integer;
	close_tok(s, t);
	s->p = q;
	return t;
}

static int
scan_literal(struct jscan_state *s, const char *word, enum jscan_type type)
{
	size_t	n = strlen(word);
	int	t;

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return -1;
	if ((t = new_tok(s, type, s->p)) == -1)
		return -1;
	s->js->tok[t].len = (uint32_t)n;
	close_tok(s, t);
	s->p += n;
	return t;
}

/* Scans an object or array after its opening bracket. */
static int
scan_container(struct jscan_state *s, enum jscan_type type)
{
	char	close = type == JS_OBJECT ? '}' : ']';
	int	t, first = 1;

	if (++s->depth > JSCAN_MAX_DEPTH ||
	    (t = new_tok(s, type, s->p)) == -1)
		return -1;
	s->p++;
	for (;;) {
		skip_ws(s);
		if (s->p >= s->end)
			return -1;
		if (*s->p == close && first) {
			s->p++;
			break;
		}
		if (!first) {
			if (*s->p == close) {
				s->p++;
				break;
			}
			if (*s->p != ',')
				return -1;
			s->p++;
			skip_ws(s);
			if (s->p >= s->end)
				return -1;
		}
		first = 0;
		if (type == JS_OBJECT) {
			if (*s->p != '"' || scan_string(s) == -1)
				return -1;
			skip_ws(s);
			if (s->p >= s->end || *s->p != ':')
				return -1;
			s->p++;
		}
		if (scan_value(s) == -1)
			return -1;
	}
	s->js->tok[t].len = (uint32_t)(s->p - (s->js->text +
	    s->js->tok[t].start));
	close_tok(s, t);
	s->depth--;
	return t;
}

static int
scan_value(struct jscan_state *s)
{
	skip_ws(s);
	if (s->p >= s->end)
		return -1;
	switch (*s->p) {
	case '{':
		return scan_container(s, JS_OBJECT);
	case '[':
		return scan_container(s, JS_ARRAY);
	case '"':
		return scan_string(s);
	case 't':
		return scan_literal(s, "true", JS_TRUE);
	case 'f':
		return scan_literal(s, "false", JS_FALSE);
	case 'n':
		return scan_literal(s, "null", JS_NULL);
	default:
		return scan_number(s);
	}
}

int
jscan_parse(struct jscan *js, const char *text, size_t len)
{
	struct jscan_state	s = { js, text, text + len, 0 };

	if (len > UINT32_MAX)
		return -1;
	js->text = text;
	js->ntok = 0;
	if (scan_value(&s) == -1)
		return -1;
	skip_ws(&s);
	return s.p == s.end ? 0 : -1;
}

int
jscan_streq(const struct jscan *js, int t, const char *str)
{
	const struct jscan_tok	*k = &js->tok[t];

	return k->type == JS_STRING && strlen(str) == k->len &&
	    memcmp(js->text + k->start, str, k->len) == 0;
}

/* Token index of the last value named key in object obj (-1: none), and
 * how many values are named so. */
static int
jscan_find(const struct jscan *js, int obj, const char *key, int *count)
{
	int	i, found = -1;

	*count = 0;
	if (obj < 0 || js->tok[obj].type != JS_OBJECT)
		return -1;
	for (i = obj + 1; i < js->tok[obj].end; i = js->tok[i + 1].end) {
		if (jscan_streq(js, i, key)) {
			found = i + 1;
			(*count)++;
		}
	}
	return found;
}

int
jscan_get(const struct jscan *js, int obj, const char *key)
{
	int	count, found = jscan_find(js, obj, key, &count);

	return count > 1 ? -2 : found;
}

int
jscan_get_last(const struct jscan *js, int obj, const char *key)
{
	int	count;

	return jscan_find(js, obj, key, &count);
}

/* ---- the member walker: any JSON, values skipped unread ------------------ */

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Index just past the string whose opening quote is at i; len if open. */
static size_t
skip_string(const char *text, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (text[i] == '\\')
			i++;
		else if (text[i] == '"')
			return i + 1;
	}
	return len;
}

/* Index just past the value starting at i: a string, a container (by
 * bracket depth, strings skipped whole) or a scalar token; len if open. */
static size_t
skip_value(const char *text, size_t len, size_t i)
{
	size_t	depth = 0;

	if (text[i] == '"')
		return skip_string(text, len, i);
	if (text[i] != '{' && text[i] != '[') {
		while (i < len && !is_ws(text[i]) && text[i] != ',' &&
		    text[i] != '}' && text[i] != ']')
			i++;
		return i;
	}
	for (; i < len; i++) {
		if (text[i] == '"')
			i = skip_string(text, len, i) - 1;
		else if (text[i] == '{' || text[i] == '[')
			depth++;
		else if ((text[i] == '}' || text[i] == ']') && --depth == 0)
			return i + 1;
	}
	return len;
}

/* Value of hex digit c, or -1. */
static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Whether the name text[from..to) (inside its quotes) decodes to the ASCII
 * string key. */
static int
name_is(const char *text, size_t from, size_t to, const char *key)
{
	static const char	 esc_in[] = "\"\\/bfnrt";
	static const char	 esc_out[] = "\"\\/\b\f\n\r\t";
	const char		*e;
	size_t			 i = from;
	int			 cp, d, k;

	for (; i < to; key++) {
		if (text[i] != '\\')
			cp = (unsigned char)text[i++];
		else if (i + 1 < to && text[i + 1] == 'u') {
			if (to - i < 6)
				return 0;
			for (cp = 0, k = 2; k < 6; k++) {
				if ((d = hex_value(text[i + k])) == -1)
					return 0;
				cp = cp * 16 + d;
			}
			i += 6;
		} else if (i + 1 < to && text[i + 1] != '\0' &&
		    (e = strchr(esc_in, text[i + 1])) != NULL) {
			cp = (unsigned char)esc_out[e - esc_in];
			i += 2;
		} else
			return 0;
		if (*key == '\0' || cp != (unsigned char)*key)
			return 0;
	}
	return *key == '\0';
}

int
jscan_each_member(const char *text, size_t len, const char *key,
    void (*fn)(size_t, size_t, void *), void *arg)
{
	size_t	i = 0, name, name_end, value;

	while (i < len && is_ws(text[i]))
		i++;
	if (i == len || text[i++] != '{')
		return -1;
	for (;;) {
		while (i < len && is_ws(text[i]))
			i++;
		if (i < len && text[i] == '}')
			return 0;
		if (i == len || text[i] != '"')
			return -1;
		name = i + 1;
		name_end = skip_string(text, len, i) - 1;
		i = name_end + 1;
		while (i < len && is_ws(text[i]))
			i++;
		if (i >= len || text[i++] != ':')
			return -1;
		while (i < len && is_ws(text[i]))
			i++;
		if ((value = i) == len)
			return -1;
		i = skip_value(text, len, i);
		if (i == value || i == len)
			return -1;	/* empty or unterminated */
		if (name_is(text, name, name_end, key))
			fn(value, i - value, arg);
		while (i < len && is_ws(text[i]))
			i++;
		if (i < len && text[i] == ',')
			i++;
		else if (i < len && text[i] == '}')
			return 0;
		else
			return -1;
	}
}

int
jscan_is_number(const char *s, size_t len)
{
	size_t	i = 0, digits;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else if (i < len && is_digit(s[i]))
		while (i < len && is_digit(s[i]))
			i++;
	else
		return 0;
	if (i < len && s[i] == '.') {
		for (i++, digits = 0; i < len && is_digit(s[i]); i++)
			digits++;
		if (digits == 0)
			return 0;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (digits = 0; i < len && is_digit(s[i]); i++)
			digits++;
		if (digits == 0)
			return 0;
	}
	return i == len;
}
