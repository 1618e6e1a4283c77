/*
 * buf.h - a growable byte buffer with a hard size limit (after curl's dynbuf and git's strbuf).
 *
 * Every input path (HTTP bodies, RPC responses, chunks) reads into a cantor_buf whose `max` is the
 * limit for that path; an append that would exceed it fails with CANTOR_ERR_TOO_LARGE and leaves the
 * buffer unchanged. The buffer owns `data`; cantor_buf_release() frees it and resets the buffer.
 * data is always NUL-terminated past len (not counted), so text can be handed to parsers directly.
 */
#ifndef CANTOR_BUF_H
#define CANTOR_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct cantor_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max; /* hard limit on len; 0 means SIZE_MAX / 2 */
};

void cantor_buf_init(struct cantor_buf *b, size_t max);
void cantor_buf_release(struct cantor_buf *b);
void cantor_buf_reset(struct cantor_buf *b); /* len = 0, keeps memory */
enum cantor_err cantor_buf_reserve(struct cantor_buf *b, size_t extra);
enum cantor_err cantor_buf_append(struct cantor_buf *b, const void *p, size_t n);
enum cantor_err cantor_buf_append_byte(struct cantor_buf *b, uint8_t c);
enum cantor_err cantor_buf_append_str(struct cantor_buf *b, const char *s);
enum cantor_err cantor_buf_printf(struct cantor_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Append the whole file at path. A regular file is reserved for in one allocation (a file of
 * gigabytes is not grown by doubling). CANTOR_ERR_IO when it cannot be opened or read (errno says
 * why), CANTOR_ERR_TOO_LARGE past the buffer's limit; on error b keeps what it held before.
 */
enum cantor_err cantor_buf_read_file(struct cantor_buf *b, const char *path);
/* Hand the bytes to the caller (who frees them with free()); the buffer is reset. */
uint8_t *cantor_buf_detach(struct cantor_buf *b, size_t *ret_len);

#endif
