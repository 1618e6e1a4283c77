/*
 * test_json_blank.c - blanking named members in JSON text: what is blanked parses to null and the rest
 * is byte-for-byte unchanged; keys inside strings, string values and short values are left alone;
 * values whose brackets or strings are not well formed (or nest past the limit), and truncated text,
 * leave the text as it was. A real recording with vmTrace added parses to the same delta as without.
 */
#include <stdlib.h>
#include <string.h>

#include "core/delta.h"
#include "core/delta_json.h"
#include "core/json_blank.h"
#include "testutil.h"

static const char *const vm[] = {"vmTrace", NULL};

/* Blank a copy of in; check the count, the length, and that it reads as want (both parsed). */
static void expect_blank(const char *in, const char *const *names, size_t want_n, const char *want)
{
    size_t len = strlen(in);
    char *t = strdup(in);
    json_t *a, *b;

    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(cantor_json_blank_members(t, len, names), want_n);
    ck_assert_uint_eq(strlen(t), len);
    a = json_loads(t, JSON_DECODE_ANY, NULL);
    b = json_loads(want, JSON_DECODE_ANY, NULL);
    ck_assert_msg(a && b && json_equal(a, b), "blanked %s into %s, not %s", in, t, want);
    json_decref(a);
    json_decref(b);
    free(t);
}

/* Nothing may change: the value is not well formed, or the text ends inside it. */
static void expect_untouched(const char *in, size_t len)
{
    char *t = malloc(len + 1);

    ck_assert_ptr_nonnull(t);
    memcpy(t, in, len);
    t[len] = 'X'; /* past the end: a read or write there would show */
    ck_assert_uint_eq(cantor_json_blank_members(t, len, vm), 0);
    ck_assert_mem_eq(t, in, len);
    ck_assert_int_eq(t[len], 'X');
    free(t);
}

START_TEST(test_blanks_nested_values)
{
    expect_blank(
        "{\"a\":1,\"vmTrace\":{\"ops\":[{\"pc\":1,\"s\":\"}]{[\\\"\"},[[]]],\"code\":\"0x60\"},\"b\":[2]}",
        vm, 1, "{\"a\":1,\"vmTrace\":null,\"b\":[2]}");
    /* at any depth, every occurrence, whitespace around the colon, several names */
    {
        static const char *const two[] = {"vmTrace", "trace", NULL};
        expect_blank(
            "[{\"trace\" : [1,2,3], \"stateDiff\":{\"0x01\":\"=\"}, \"vmTrace\"\n:\t\"0x6060\"},"
            "{\"x\":{\"vmTrace\":[true,false,null]}}]",
            two, 3,
            "[{\"trace\":null,\"stateDiff\":{\"0x01\":\"=\"},\"vmTrace\":null},{\"x\":{\"vmTrace\":null}}]");
    }
    /* a scalar value is blanked too */
    expect_blank("{\"vmTrace\":12345,\"k\":0}", vm, 1, "{\"vmTrace\":null,\"k\":0}");
}
END_TEST

START_TEST(test_leaves_the_rest)
{
    /* the name as a string value, inside a string, as a prefix or with an escape: not a key */
    expect_blank(
        "{\"k\":\"vmTrace\",\"s\":\"\\\"vmTrace\\\":{1}\",\"vmTraces\":[1,2],\"vm\\u0054race\":[1,2]}", vm, 0,
        "{\"k\":\"vmTrace\",\"s\":\"\\\"vmTrace\\\":{1}\",\"vmTraces\":[1,2],\"vmTrace\":[1,2]}");
    /* short values and null stay as they are and do not count */
    expect_blank("{\"vmTrace\":{},\"a\":{\"vmTrace\":[]},\"b\":{\"vmTrace\":1},\"c\":{\"vmTrace\":null}}", vm,
                 0, "{\"vmTrace\":{},\"a\":{\"vmTrace\":[]},\"b\":{\"vmTrace\":1},\"c\":{\"vmTrace\":null}}");
    /* NULL arguments */
    ck_assert_uint_eq(cantor_json_blank_members(NULL, 5, vm), 0);
    {
        char t[] = "{\"vmTrace\":[1,2,3]}";
        ck_assert_uint_eq(cantor_json_blank_members(t, strlen(t), NULL), 0);
    }
}
END_TEST

START_TEST(test_malformed_untouched)
{
    static const char *bad[] = {
        "{\"vmTrace\":[1,2,3}",        /* bracket kinds do not match */
        "{\"vmTrace\":{\"a\":[1]]}",   /* closes more than it opened */
        "{\"vmTrace\":[1,2,3",         /* text ends inside the value */
        "{\"vmTrace\":\"never closed", /* string never closes */
        "{\"vmTrace\":[\"a\\\"]}",     /* the escaped quote does not close the string */
        "{\"vmTrace\":",               /* no value at all */
        "{\"vmTrace\"",                /* no colon */
        "{\"vmTr",                     /* ends inside the key */
        "{\"vmTrace\":[1,2,3]\\",      /* well formed value: blanked (checked below) */
    };
    for (size_t i = 0; i + 1 < sizeof(bad) / sizeof(bad[0]); i++)
        expect_untouched(bad[i], strlen(bad[i]));
    {
        char t[] = "{\"vmTrace\":[1,2,3]\\";
        ck_assert_uint_eq(cantor_json_blank_members(t, strlen(t), vm), 1);
        ck_assert_str_eq(t, "{\"vmTrace\":null   \\");
    }
    /* the text length, not a NUL, ends the scan: a value cut at len is not blanked */
    expect_untouched("{\"vmTrace\":[1,2,3]}", 15);
}
END_TEST

START_TEST(test_depth_limit)
{
    size_t depth = CANTOR_JSON_BLANK_MAX_DEPTH, pre = strlen("{\"vmTrace\":"), len;
    char *t;

    for (int over = 0; over < 2; over++) {
        size_t d = depth + (size_t)over;
        len = pre + 2 * d + 1;
        t = malloc(len + 1);
        ck_assert_ptr_nonnull(t);
        memcpy(t, "{\"vmTrace\":", pre);
        memset(t + pre, '[', d);
        memset(t + pre + d, ']', d);
        t[len - 1] = '}';
        t[len] = 0;
        /* nesting up to the limit is followed; one more level is left to the parser to refuse */
        ck_assert_uint_eq(cantor_json_blank_members(t, len, vm), over ? 0 : 1);
        ck_assert_int_eq(t[pre], over ? '[' : 'n');
        free(t);
    }
}
END_TEST

/*
 * A recording as erigon's rpc-tests ship it with vmTrace asked for: every result gets a vmTrace of
 * strings with brackets and quotes in them; the delta is the one of the file without them.
 */
START_TEST(test_recording_with_vmtrace)
{
    const char *rel = "erigon-rpc-tests/mainnet/trace_replayBlockTransactions/test_37.json";
    json_t *root = tu_load_json(rel), *results, *r, *vmt, *ops;
    struct cantor_delta *want = NULL, *got = NULL;
    struct cantor_buf a, b;
    char *text;
    size_t i;

    results = json_object_get(json_object_get(json_array_get(root, 0), "response"), "result");
    ck_assert(json_is_array(results));
    json_array_foreach(results, i, r)
    {
        ops = json_array();
        for (int k = 0; k < 50; k++)
            json_array_append_new(ops, json_pack("{s:i,s:s,s:{s:[s],s:n}}", "pc", k, "op", "}]\"{[", "ex",
                                                 "push", "0x7b7d5b5d", "mem"));
        vmt = json_pack("{s:s,s:o}", "code", "0x6080604052", "ops", ops);
        json_object_set_new(r, "vmTrace", vmt);
    }
    text = json_dumps(root, JSON_COMPACT);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(cantor_delta_load_recorded(tu_data_path(rel), &want), CANTOR_OK);
    ck_assert_int_eq(cantor_delta_parse_recorded(text, strlen(text), NULL, &got), CANTOR_OK);
    ck_assert_ptr_nonnull(strstr(text, "\"vmTrace\":null"));
    ck_assert_ptr_null(strstr(text, "0x7b7d5b5d"));
    cantor_buf_init(&a, 0);
    cantor_buf_init(&b, 0);
    ck_assert_int_eq(cantor_delta_encode(want, &a), CANTOR_OK);
    ck_assert_int_eq(cantor_delta_encode(got, &b), CANTOR_OK);
    ck_assert_uint_eq(a.len, b.len);
    ck_assert_mem_eq(a.data, b.data, a.len);
    /* not JSON: a clear error, whatever was blanked */
    ck_assert_int_eq(cantor_delta_parse_recorded(text, strlen(text) / 2, NULL, &got), CANTOR_ERR_JSON);
    cantor_buf_release(&a);
    cantor_buf_release(&b);
    cantor_delta_free(want);
    cantor_delta_free(got);
    free(text);
    json_decref(root);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("json_blank");
    TCase *tc = tcase_create("json_blank");

    tcase_add_test(tc, test_blanks_nested_values);
    tcase_add_test(tc, test_leaves_the_rest);
    tcase_add_test(tc, test_malformed_untouched);
    tcase_add_test(tc, test_depth_limit);
    tcase_add_test(tc, test_recording_with_vmtrace);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
