/* SPDX-License-Identifier: MIT — crmpubsub */
/* The strict scanner against jansson: whatever the scanner accepts, jansson
 * accepts too and reads as the same tree (types, strings, integers, member
 * order); its refusals of the subset's edges are checked one by one. The
 * member walker finds the member jansson keeps, in any JSON. */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jscan.h"

struct event_base	*base;	/* provided by main.c in the daemon */

static struct jscan_tok	toks[JSCAN_MAX_TOKENS];
static struct jscan	js = JSCAN_ON(toks);

/* Whether scanner token t (and its subtree) reads as jansson value v. */
static int
same_tree(int t, const json_t *v)
{
	const struct jscan_tok	*k = &js.tok[t];
	const char		*text = js.text + k->start;
	int			 c;
	size_t			 i = 0;
	void			*it;

	switch (k->type) {
	case JS_NULL:
		return json_is_null(v);
	case JS_TRUE:
		return json_is_true(v);
	case JS_FALSE:
		return json_is_false(v);
	case JS_STRING:
		return json_is_string(v) && json_string_length(v) == k->len &&
		    memcmp(json_string_value(v), text, k->len) == 0;
	case JS_NUMBER:
		if (k->is_integer)
			return json_is_integer(v) &&
			    json_integer_value(v) == strtoll(text, NULL, 10);
		return json_is_real(v) &&
		    json_real_value(v) == strtod(text, NULL);
	case JS_ARRAY:
		if (!json_is_array(v))
			return 0;
		JSCAN_FOREACH(&js, t, c) {
			if (i >= json_array_size(v) ||
			    !same_tree(c, json_array_get(v, i)))
				return 0;
			i++;
		}
		return i == json_array_size(v);
	case JS_OBJECT:
		if (!json_is_object(v))
			return 0;
		it = json_object_iter((json_t *)v);
		/* Members are name/value token pairs. */
		for (c = t + 1; c < k->end; c = js.tok[c + 1].end) {
			if (it == NULL || !jscan_streq(&js, c,
			    json_object_iter_key(it)) ||
			    !same_tree(c + 1, json_object_iter_value(it)))
				return 0;
			it = json_object_iter_next((json_t *)v, it);
		}
		return it == NULL;
	}
	return 0;
}

/* Scans text; when the scanner accepts, jansson must agree on the tree. */
static int
check_agrees(const char *text, size_t len)
{
	json_t		*v;
	json_error_t	 err;
	int		 ok;

	if (jscan_parse(&js, text, len) == -1)
		return 0;
	v = json_loadb(text, len, JSON_DECODE_ANY, &err);
	ck_assert_msg(v != NULL, "scanner accepted what jansson rejects: %.*s",
	    (int)len, text);
	ok = same_tree(0, v);
	json_decref(v);
	ck_assert_msg(ok, "trees differ for %.*s", (int)len, text);
	return 1;
}

static const char *const seeds[] = {
	"{\"op\":\"broadcast_to_contacts\",\"event\":\"interaction_created\","
	    "\"interaction_uuid\":\"0190a5b2-7c1e-7a01-8f00-0000000000aa\","
	    "\"contact_uuids\":[\"0190a5b2-7c1e-7a01-8f00-000000000001\",null],"
	    "\"id\":12}",
	"{\"op\":\"broadcast_interaction\",\"event\":\"interaction_updated\","
	    "\"interaction\":{\"uuid\":\"u\",\"contact_uuid\":null,\"parties\":"
	    "[{\"contact_uuid\":\"c\",\"x\":[true,false,-1.25,0,0.5]},{}]}}",
	" [ 1 , [ ] , { } , \"\" , -3 ] ",
	"{\"a\":{\"b\":{\"c\":[[[[]]]]}},\"id\":\"x y\"}",
};

START_TEST(test_accepts_and_agrees)
{
	size_t	i;

	for (i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
		ck_assert_msg(check_agrees(seeds[i], strlen(seeds[i])),
		    "seed %zu refused", i);
}
END_TEST

START_TEST(test_refuses_outside_subset)
{
	static const char *const refused[] = {
		"", "   ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\"}", "{\"a\":}",
		"[1 2]", "{} {}", "01", "-", "1.", ".5", "1e5", "1E-2", "-0",
		"\"\\n\"", "\"caf\xc3\xa9\"", "\"\x01\"", "tru", "nul", "[nan]",
		"1234567890123456", "\"unterminated", "{\"a\":1}x", "[\"a\"\"b\"]",
		"[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]",
	};
	size_t	i;

	for (i = 0; i < sizeof refused / sizeof refused[0]; i++)
		ck_assert_msg(jscan_parse(&js, refused[i], strlen(refused[i]))
		    == -1, "scanner accepted \"%s\"", refused[i]);
}
END_TEST

START_TEST(test_get_and_duplicates)
{
	const char	*t = "{\"op\":\"ping\",\"id\":1,\"o\":{\"k\":2,\"k\":3}}";
	int		 o;

	ck_assert_int_eq(jscan_parse(&js, t, strlen(t)), 0);
	ck_assert(jscan_streq(&js, jscan_get(&js, 0, "op"), "ping"));
	ck_assert_int_eq(jscan_get(&js, 0, "missing"), -1);
	o = jscan_get(&js, 0, "o");
	ck_assert_int_ge(o, 0);
	ck_assert_int_eq(jscan_get(&js, o, "k"), -2);
	ck_assert_int_eq(jscan_get(&js, jscan_get(&js, 0, "id"), "x"), -1);
}
END_TEST

/* Every byte value at every position of a string long enough for the
 * scanner's eight-byte steps and its tail: accepted exactly when it is
 * printable ASCII other than a backslash. */
START_TEST(test_string_bytes)
{
	char	doc[40];
	int	b, pos, plain;

	for (b = 0; b < 256; b++) {
		if (b == '"')
			continue;	/* it would end the string */
		for (pos = 0; pos < 27; pos++) {
			memcpy(doc, "[\"abcdefghijklmnopqrstuvwxyz0\"]", 31);
			doc[2 + pos] = (char)b;
			plain = b >= 0x20 && b <= 0x7e && b != '\\';
			ck_assert_msg((jscan_parse(&js, doc, 31) == 0) == plain,
			    "byte 0x%02x at %d: %s", b, pos,
			    plain ? "refused" : "accepted");
		}
	}
}
END_TEST

/* Copies text into buf (room for it) and changes 1 + n % 3 of its bytes
 * into bytes of alphabet, drawn from *rng; returns the length. */
static size_t
mutate(char *buf, const char *text, int n, unsigned *rng,
    const char *alphabet)
{
	size_t	len = strlen(text), k;

	memcpy(buf, text, len);
	for (k = 0; k < 1 + (size_t)n % 3; k++) {
		*rng = *rng * 1103515245u + 12345u;
		buf[(*rng >> 8) % len] = alphabet[(*rng >> 20) % strlen(alphabet)];
	}
	return len;
}

/* Random byte mutations of the seeds: never a disagreement with jansson. */
START_TEST(test_mutations_agree)
{
	static const char alphabet[] = "{}[]:,\"\\ -.0123456789eEtrufalsn\x01\xc3";
	char		 buf[512];
	unsigned	 rng = 7;
	size_t		 len, accepted = 0;
	int		 n;

	for (n = 0; n < 200000; n++) {
		len = mutate(buf, seeds[(size_t)n % (sizeof seeds /
		    sizeof seeds[0])], n, &rng, alphabet);
		accepted += (size_t)check_agrees(buf, len);
	}
	/* Mutations inside strings and numbers keep many inputs valid. */
	ck_assert_uint_gt(accepted, 1000);
}
END_TEST

/* ---- the member walker -------------------------------------------------- */

struct found {
	size_t	n;
	size_t	off[8], len[8];
};

/* jscan_each_member callback: records each occurrence. */
static void
record(size_t off, size_t len, void *arg)
{
	struct found	*f = arg;

	if (f->n < 8) {
		f->off[f->n] = off;
		f->len[f->n] = len;
	}
	f->n++;
}

START_TEST(test_member_walker_cases)
{
	static const struct {
		const char	*text;
		int		 rc;
		const char	*values;	/* found values, joined by | */
	} cases[] = {
		{ "{\"op\":\"ping\",\"id\":7}", 0, "7" },
		{ " { \"id\" :\t-0 , \"op\":1 } ", 0, "-0" },
		{ "{\"id\":12345678901234567890}", 0, "12345678901234567890" },
		{ "{\"id\":1e2,\"id\":\"x\",\"id\":null}", 0, "1e2|\"x\"|null" },
		{ "{\"\\u0069d\":1,\"i\\u0064\":2,\"\\u0069\\u0064\":3}", 0,
		    "1|2|3" },
		{ "{\"a\":{\"id\":1},\"b\":[{\"id\":2}],\"id\":3}", 0, "3" },
		{ "{\"x\":\"\\\"id\\\":5,\",\"id\":\"a\\\"b\"}", 0,
		    "\"a\\\"b\"" },
		{ "{\"id\":{\"k\":[1,\"]}\"]},\"z\":0}", 0,
		    "{\"k\":[1,\"]}\"]}" },
		{ "{\"idx\":1,\"i\":2,\"ID\":3,\"\\u00e9id\":4,\"id\\n\":5}", 0, "" },
		{ "{}", 0, "" },
		{ "{\"id\":1", -1, "" },
		{ "{\"id\":\"open}", -1, "" },
		{ "{\"id\":}", -1, "" },
		{ "[{\"id\":1}]", -1, "" },
		{ "", -1, "" },
		{ "{\"id\" 1}", -1, "" },
	};
	struct found	f;
	char		got[256];
	size_t		i, k, off;
	int		rc;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memset(&f, 0, sizeof f);
		rc = jscan_each_member(cases[i].text, strlen(cases[i].text),
		    "id", record, &f);
		ck_assert_msg(rc == cases[i].rc, "%s: rc %d", cases[i].text, rc);
		if (rc == -1)
			continue;
		for (k = 0, off = 0; k < f.n; k++)
			off += (size_t)snprintf(got + off, sizeof got - off,
			    "%s%.*s", k ? "|" : "", (int)f.len[k],
			    cases[i].text + f.off[k]);
		got[off] = '\0';
		ck_assert_msg(strcmp(got, cases[i].values) == 0,
		    "%s: found %s", cases[i].text, got);
	}
}
END_TEST

/* Whatever jansson reads as an object, the walker walks, and the last "id"
 * it reports reads as the value jansson keeps for "id". 1 for an object. */
static int
check_walker_agrees(const char *text, size_t len)
{
	struct found	 f = { 0, { 0 }, { 0 } };
	json_t		*v, *mine;
	const json_t	*theirs;
	size_t		 last;
	int		 rc;

	v = json_loadb(text, len, JSON_DECODE_ANY, NULL);
	rc = jscan_each_member(text, len, "id", record, &f);
	if (!json_is_object(v)) {
		json_decref(v);
		return 0;
	}
	ck_assert_msg(rc == 0, "walker gave up on %.*s", (int)len, text);
	theirs = json_object_get(v, "id");
	ck_assert_msg((theirs != NULL) == (f.n > 0), "id %s in %.*s",
	    theirs != NULL ? "missed" : "invented", (int)len, text);
	if (theirs != NULL && f.n <= 8) {
		last = f.n - 1;
		mine = json_loadb(text + f.off[last], f.len[last],
		    JSON_DECODE_ANY, NULL);
		ck_assert_msg(mine != NULL && json_equal(mine, theirs),
		    "walker's id %.*s in %.*s", (int)f.len[last],
		    text + f.off[last], (int)len, text);
		json_decref(mine);
	}
	json_decref(v);
	return 1;
}

START_TEST(test_member_walker_agrees)
{
	static const char *const objects[] = {
		"{\"op\":\"ping\",\"id\":12}",
		"{\"id\":\"a\",\"x\":{\"id\":[1,{\"id\":2}]},\"id\":-3.5e1}",
		"{\"\\u0069d\":\"\\u00e9\\\"\",\"s\":\"}{][,:\\\\\",\"id\":null}",
		" {\"k\" : [ true , false , null ] , \"id\" : { } } ",
	};
	static const char alphabet[] = "{}[]:,\"\\ -.019eEidu\x01\xc3";
	char		 buf[128];
	unsigned	 rng = 11;
	size_t		 o, len, valid = 0;
	int		 n;

	for (o = 0; o < sizeof objects / sizeof objects[0]; o++)
		ck_assert(check_walker_agrees(objects[o], strlen(objects[o])));
	for (n = 0; n < 100000; n++) {
		len = mutate(buf, objects[(size_t)n % (sizeof objects /
		    sizeof objects[0])], n, &rng, alphabet);
		valid += (size_t)check_walker_agrees(buf, len);
	}
	/* Mutations inside strings keep many inputs valid. */
	ck_assert_msg(valid > 5000, "only %zu valid objects", valid);
}
END_TEST

START_TEST(test_is_number)
{
	static const char *const numbers[] = {
		"0", "-0", "7", "-12", "12345678901234567890", "0.1", "-0.0",
		"1e2", "1E+2", "2.5e-3", "1e999999", "-1.0E-0",
	};
	static const char *const not_numbers[] = {
		"", "-", "01", "-01", "1.", ".5", "+1", "1e", "1e+", "1.e2",
		"0x1", "1 ", " 1", "NaN", "Infinity", "--1", "1..2", "1e2.5",
		"\"1\"", "null",
	};
	size_t	i;

	for (i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
		ck_assert_msg(jscan_is_number(numbers[i], strlen(numbers[i])),
		    "%s refused", numbers[i]);
	for (i = 0; i < sizeof not_numbers / sizeof not_numbers[0]; i++)
		ck_assert_msg(!jscan_is_number(not_numbers[i],
		    strlen(not_numbers[i])), "%s accepted", not_numbers[i]);
	/* Only the given length counts. */
	ck_assert(jscan_is_number("12,", 2));
}
END_TEST

static Suite *
jscan_suite(void)
{
	Suite	*s = suite_create("unit_jscan");
	TCase	*tc = tcase_create("jscan");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_accepts_and_agrees);
	tcase_add_test(tc, test_refuses_outside_subset);
	tcase_add_test(tc, test_get_and_duplicates);
	tcase_add_test(tc, test_string_bytes);
	tcase_add_test(tc, test_mutations_agree);
	tcase_add_test(tc, test_member_walker_cases);
	tcase_add_test(tc, test_member_walker_agrees);
	tcase_add_test(tc, test_is_number);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(jscan_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
