/* buf.c - growable, size-limited byte buffer. See buf.h for the ownership contract. */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BUF_DEFAULT_MAX (SIZE_MAX / 2)

void cantor_buf_init(struct cantor_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : BUF_DEFAULT_MAX;
}

void cantor_buf_release(struct cantor_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void cantor_buf_reset(struct cantor_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}

enum cantor_err cantor_buf_reserve(struct cantor_buf *b, size_t extra)
{
    size_t need, ncap;
    uint8_t *p;

    if (extra > b->max || b->len > b->max - extra)
        return CANTOR_ERR_TOO_LARGE;
    need = b->len + extra + 1; /* +1 keeps room for the terminating NUL */
    if (need <= b->cap)
        return CANTOR_OK;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    p = realloc(b->data, ncap);
    if (!p)
        return CANTOR_ERR_NOMEM;
    b->data = p;
    b->cap = ncap;
    return CANTOR_OK;
}

enum cantor_err cantor_buf_append(struct cantor_buf *b, const void *p, size_t n)
{
    enum cantor_err err = cantor_buf_reserve(b, n);

    if (err)
        return err;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return CANTOR_OK;
}

enum cantor_err cantor_buf_append_byte(struct cantor_buf *b, uint8_t c)
{
    return cantor_buf_append(b, &c, 1);
}

enum cantor_err cantor_buf_append_str(struct cantor_buf *b, const char *s)
{
    return cantor_buf_append(b, s, strlen(s));
}

enum cantor_err cantor_buf_printf(struct cantor_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    enum cantor_err err;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return CANTOR_ERR_INVALID;
    err = cantor_buf_reserve(b, (size_t)n);
    if (err)
        return err;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return CANTOR_OK;
}

uint8_t *cantor_buf_detach(struct cantor_buf *b, size_t *ret_len)
{
    uint8_t *p = b->data;

    if (ret_len)
        *ret_len = b->len;
    if (!p)
        p = calloc(1, 1);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

enum cantor_err cantor_buf_read_file(struct cantor_buf *b, const char *path)
{
    struct stat sb;
    uint8_t tmp[65536];
    size_t n, was = b->len;
    FILE *f;
    int saved;
    enum cantor_err err = CANTOR_OK;

    f = fopen(path, "rbe"); /* e: not inherited by a child the process may start */
    if (!f)
        return CANTOR_ERR_IO;
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0) {
        err =
            (uint64_t)sb.st_size > b->max ? CANTOR_ERR_TOO_LARGE : cantor_buf_reserve(b, (size_t)sb.st_size);
        if (err)
            goto out;
    }
    /* a pipe, or a file that grows meanwhile, still reads to its end within the limit */
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
        err = cantor_buf_append(b, tmp, n);
        if (err)
            goto out;
    }
    if (ferror(f))
        err = CANTOR_ERR_IO;
out:
    saved = errno;
    fclose(f);
    errno = saved;
    if (err) {
        b->len = was;
        if (b->data)
            b->data[was] = 0;
    }
    return err;
}
