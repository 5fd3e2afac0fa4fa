/* SPDX-License-Identifier: MIT — crmpubsub */
/* The strict scanner against jansson: whatever the scanner accepts, jansson
 * accepts too and reads as the same tree (types, strings, integers, member
 * order); its refusals of the subset's edges are checked one by one. */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jscan.h"

struct event_base	*base;	/* provided by main.c in the daemon */

static struct jscan	js;

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

/* Random byte mutations of the seeds: never a disagreement with jansson. */
START_TEST(test_mutations_agree)
{
	static const char alphabet[] = "{}[]:,\"\\ -.0123456789eEtrufalsn\x01\xc3";
	char		 buf[512];
	unsigned	 rng = 7;
	size_t		 s, len, k, accepted = 0;
	int		 n;

	for (n = 0; n < 200000; n++) {
		s = (size_t)n % (sizeof seeds / sizeof seeds[0]);
		len = strlen(seeds[s]);
		memcpy(buf, seeds[s], len);
		for (k = 0; k < 1 + (size_t)n % 3; k++) {
			rng = rng * 1103515245u + 12345u;
			buf[(rng >> 8) % len] =
			    alphabet[(rng >> 20) % (sizeof alphabet - 1)];
		}
		accepted += (size_t)check_agrees(buf, len);
	}
	/* Mutations inside strings and numbers keep many inputs valid. */
	ck_assert_uint_gt(accepted, 1000);
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
