/*
 * testutil.h - helpers shared by the unit suites: locate ../shared/data (CANTOR_SHARED_DATA),
 * read whole files, load JSON. Returned buffers are malloc'ed and owned by the caller.
 */
#ifndef CANTOR_TESTUTIL_H
#define CANTOR_TESTUTIL_H

#include <check.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Absolute path of a file under the shared data dir, in a static buffer (not thread-safe). */
const char *tu_data_path(const char *rel);
/* Read a file under the shared data dir; aborts the test (ck_abort) when missing. */
uint8_t *tu_read_data(const char *rel, size_t *ret_len);
/* Load a JSON file under the shared data dir; aborts the test when missing or malformed. */
json_t *tu_load_json(const char *rel);
/* Run one suite with CK_NORMAL output and return the process exit status. */
int tu_run_suite(Suite *s);

#endif
