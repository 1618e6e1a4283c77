/*
 * codec_range.c - binary arithmetic coder (carry-less range coder in the style of lpaq/paq8):
 * 32-bit integer state, 12-bit probabilities, bytes out as soon as the top byte of the interval
 * is settled. Pure integer arithmetic, so encoder and decoder agree on every machine.
 * The encoder appends to a caller-owned cantor_buf; the decoder reads a caller-owned byte range and
 * treats reads past the end as zero bytes (counted in `overrun` so callers can reject garbage).
 * The per-bit functions are inline in codec_internal.h: they run once per coded decision.
 */
#include "codec_internal.h"

void cantor_rc_enc_init(struct cantor_rc_enc *e, struct cantor_buf *out)
{
    e->x1 = 0;
    e->x2 = 0xffffffffu;
    e->out = out;
    e->err = CANTOR_OK;
}

enum cantor_err cantor_rc_enc_finish(struct cantor_rc_enc *e)
{
    /* Any value in [x1, x2] decodes the same; x1's top byte plus ones below is inside. */
    uint8_t b = (uint8_t)(e->x1 >> 24);

    if (!e->err && (e->x1 & 0x00ffffffu) != 0)
        b++; /* b.00.. < x1: round up, still <= x2 since the top bytes differ */
    if (!e->err)
        e->err = cantor_buf_append_byte(e->out, b);
    return e->err;
}

void cantor_rc_dec_init(struct cantor_rc_dec *d, const uint8_t *in, size_t len)
{
    d->x1 = 0;
    d->x2 = 0xffffffffu;
    d->in = in;
    d->len = len;
    d->pos = 0;
    d->overrun = 0;
    d->x = 0;
    for (int i = 0; i < 4; i++)
        d->x = (d->x << 8) | cantor_rc_next_(d);
}
