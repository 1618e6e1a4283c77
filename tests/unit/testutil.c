/* testutil.c - see testutil.h. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/buf.h"

const char *tu_data_path(const char *rel)
{
    static char path[4096];
    const char *root = getenv("CANTOR_SHARED_DATA");

    if (!root)
        root = "../shared/data";
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    return path;
}

uint8_t *tu_read_data(const char *rel, size_t *ret_len)
{
    const char *path = tu_data_path(rel);
    struct cantor_buf b;

    cantor_buf_init(&b, 0);
    ck_assert_msg(cantor_buf_read_file(&b, path) == CANTOR_OK, "cannot read %s", path);
    return cantor_buf_detach(&b, ret_len);
}

json_t *tu_load_json(const char *rel)
{
    json_error_t e;
    json_t *j = json_load_file(tu_data_path(rel), 0, &e);

    ck_assert_msg(j != NULL, "%s: %s (line %d)", tu_data_path(rel), e.text, e.line);
    return j;
}

int tu_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
