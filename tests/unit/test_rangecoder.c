/* test_rangecoder.c - the binary range coder and the context-mixing engine: exact round trips,
 * compression close to the entropy of a skewed source, and bit-exact determinism. */
#include <stdlib.h>
#include <string.h>

#include "core/codec_internal.h"
#include "testutil.h"

static uint32_t rng_state;

static uint32_t rng(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

START_TEST(test_rc_roundtrip_fixed_probs)
{
    struct cantor_buf b;
    struct cantor_rc_enc e;
    struct cantor_rc_dec d;
    enum { N = 200000 };
    uint8_t *bits = malloc(N);
    int *probs = malloc(N * sizeof(int));

    rng_state = 7;
    for (int i = 0; i < N; i++) {
        probs[i] = 1 + (int)(rng() % 4095);
        bits[i] = (uint8_t)((rng() % 4096) < (uint32_t)probs[i]);
    }
    cantor_buf_init(&b, 0);
    cantor_rc_enc_init(&e, &b);
    for (int i = 0; i < N; i++)
        cantor_rc_enc_bit(&e, probs[i], bits[i]);
    ck_assert_int_eq(cantor_rc_enc_finish(&e), CANTOR_OK);
    cantor_rc_dec_init(&d, b.data, b.len);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(cantor_rc_dec_bit(&d, probs[i]), bits[i]);
    ck_assert_uint_le(d.overrun, 4);
    /* extreme probabilities against the bit: still exact */
    b.len = 0;
    cantor_rc_enc_init(&e, &b);
    for (int i = 0; i < 1000; i++)
        cantor_rc_enc_bit(&e, i & 1 ? 1 : 4095, i & 1);
    ck_assert_int_eq(cantor_rc_enc_finish(&e), CANTOR_OK);
    cantor_rc_dec_init(&d, b.data, b.len);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(cantor_rc_dec_bit(&d, i & 1 ? 1 : 4095), i & 1);
    cantor_buf_release(&b);
    free(bits);
    free(probs);
}
END_TEST

/* A source with P(1) = 1/16 costs ~0.337 bits per bit; the adaptive CM must get close to it. */
START_TEST(test_cm_learns_skewed_source)
{
    struct cantor_predictor *p[2];
    struct cantor_cm *cm;
    struct cantor_buf b;
    struct cantor_rc_enc e;
    struct cantor_rc_dec d;
    struct cantor_pctx c = {.field = 3, .node = 1, .ctx = {42}, .n_ctx = 1};
    enum { N = 100000 };
    uint8_t *bits = malloc(N);

    rng_state = 99;
    for (int i = 0; i < N; i++)
        bits[i] = (rng() & 15) == 0;
    ck_assert_int_eq(cantor_predictor_ctxmodel_new(16, 255, 0, &p[0]), CANTOR_OK);
    ck_assert_int_eq(cantor_predictor_order0_new(&p[1]), CANTOR_OK);
    ck_assert_int_eq(cantor_cm_new(p, 2, &cm), CANTOR_OK);
    cantor_buf_init(&b, 0);
    cantor_rc_enc_init(&e, &b);
    for (int i = 0; i < N; i++) {
        cantor_rc_enc_bit(&e, cantor_cm_predict(cm, &c), bits[i]);
        cantor_cm_update(cm, &c, bits[i]);
    }
    ck_assert_int_eq(cantor_rc_enc_finish(&e), CANTOR_OK);
    ck_assert_uint_lt(b.len, (size_t)(N * 0.337 / 8 * 1.06));
    ck_assert_uint_gt(b.len, (size_t)(N * 0.337 / 8 * 0.9));
    cantor_cm_reset(cm);
    cantor_rc_dec_init(&d, b.data, b.len);
    for (int i = 0; i < N; i++) {
        int bit = cantor_rc_dec_bit(&d, cantor_cm_predict(cm, &c));
        ck_assert_int_eq(bit, bits[i]);
        cantor_cm_update(cm, &c, bit);
    }
    cantor_cm_free(cm);
    cantor_buf_release(&b);
    free(bits);
}
END_TEST

START_TEST(test_squash_stretch)
{
    ck_assert_int_eq(cantor_squash(0), 2047);
    ck_assert_int_ge(cantor_squash(2047), 4094);
    ck_assert_int_le(cantor_squash(-2047), 1);
    for (int p = 1; p < 4095; p += 7) {
        int q = cantor_squash(cantor_stretch(p));
        ck_assert_int_le(abs(q - p), 1 + p / 40);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rangecoder");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_rc_roundtrip_fixed_probs);
    tcase_add_test(tc, test_cm_learns_skewed_source);
    tcase_add_test(tc, test_squash_stretch);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
