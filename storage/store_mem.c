/*
 * store_mem.c - in-memory kv backend: one sorted array per column family, binary search, memmove.
 *
 * For unit tests, run IN ADDITION to RocksDB so the store logic is checked against two independent
 * engines. O(n) inserts are fine at test sizes. A rwlock makes it safe for one writer plus readers;
 * iterators copy the current key/value under the lock, so a concurrent write never leaves them
 * pointing at freed memory (they may miss or repeat records written meanwhile). The map owns all
 * keys and values; cantor_kv_close() frees everything.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "storage/kv.h"

struct mem_rec {
    uint8_t *key, *val;
    size_t klen, vlen;
};

struct mem_cf {
    struct mem_rec *recs;
    size_t n, cap;
};

struct mem_kv {
    struct cantor_kv base;
    pthread_rwlock_t lock;
    struct mem_cf cfs[CANTOR_CF__COUNT];
};

struct cantor_kv_iter {
    struct mem_kv *m;
    enum cantor_store_cf cf;
    bool valid;
    struct cantor_buf key, val;
    enum cantor_err status;
};

static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);

    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Index of the first record with key >= key. */
static size_t lower_bound(const struct mem_cf *c, const uint8_t *key, size_t klen)
{
    size_t lo = 0, hi = c->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (key_cmp(c->recs[mid].key, c->recs[mid].klen, key, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool found_at(const struct mem_cf *c, size_t i, const uint8_t *key, size_t klen)
{
    return i < c->n && key_cmp(c->recs[i].key, c->recs[i].klen, key, klen) == 0;
}

static enum cantor_err mem_get(struct cantor_kv *kv, enum cantor_store_cf cf, const uint8_t *key, size_t klen,
                               uint8_t **ret_val, size_t *ret_len)
{
    struct mem_kv *m = (struct mem_kv *)kv;
    struct mem_cf *c;
    enum cantor_err err = CANTOR_ERR_NOT_FOUND;
    size_t i;

    if ((unsigned)cf >= CANTOR_CF__COUNT)
        return CANTOR_ERR_INVALID;
    c = &m->cfs[cf];
    pthread_rwlock_rdlock(&m->lock);
    i = lower_bound(c, key, klen);
    if (found_at(c, i, key, klen)) {
        uint8_t *v = malloc(c->recs[i].vlen + 1);

        if (!v) {
            err = CANTOR_ERR_NOMEM;
        } else {
            if (c->recs[i].vlen)
                memcpy(v, c->recs[i].val, c->recs[i].vlen);
            v[c->recs[i].vlen] = 0;
            *ret_val = v;
            *ret_len = c->recs[i].vlen;
            err = CANTOR_OK;
        }
    }
    pthread_rwlock_unlock(&m->lock);
    return err;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);

    if (d && n)
        memcpy(d, p, n);
    return d;
}

/* Allocations for all puts happen before the map changes, so a failed write changes nothing. */
static enum cantor_err mem_write(struct cantor_kv *kv, const struct cantor_kv_batch *b, bool sync)
{
    struct mem_kv *m = (struct mem_kv *)kv;
    struct mem_rec *fresh = NULL;
    struct cantor_kv_rec r;
    size_t pos = 0, n_fresh = 0, k = 0, i;
    enum cantor_err err = CANTOR_OK;
    size_t grow[CANTOR_CF__COUNT] = {0};

    fresh = calloc(b->n_ops ? b->n_ops : 1, sizeof(*fresh));
    if (!fresh)
        return CANTOR_ERR_NOMEM;
    while (cantor_kv_batch_next(b, &pos, &r)) {
        if (r.op == CANTOR_KV_PUT) {
            fresh[n_fresh].key = dup_bytes(r.key, r.klen);
            fresh[n_fresh].val = dup_bytes(r.val, r.vlen);
            fresh[n_fresh].klen = r.klen;
            fresh[n_fresh].vlen = r.vlen;
            n_fresh++;
            if (!fresh[n_fresh - 1].key || !fresh[n_fresh - 1].val) {
                err = CANTOR_ERR_NOMEM;
                goto out;
            }
            grow[r.cf]++;
        }
    }
    pthread_rwlock_wrlock(&m->lock);
    for (i = 0; i < CANTOR_CF__COUNT; i++) {
        struct mem_cf *c = &m->cfs[i];

        if (c->n + grow[i] > c->cap) {
            size_t ncap = c->cap ? c->cap : 64;
            struct mem_rec *p;

            while (ncap < c->n + grow[i])
                ncap *= 2;
            p = realloc(c->recs, ncap * sizeof(*p));
            if (!p) {
                pthread_rwlock_unlock(&m->lock);
                err = CANTOR_ERR_NOMEM;
                goto out;
            }
            c->recs = p;
            c->cap = ncap;
        }
    }
    pos = 0;
    while (cantor_kv_batch_next(b, &pos, &r)) {
        struct mem_cf *c = &m->cfs[r.cf];
        size_t at = lower_bound(c, r.key, r.klen);
        bool hit = found_at(c, at, r.key, r.klen);

        if (r.op == CANTOR_KV_PUT) {
            struct mem_rec *nr = &fresh[k++];

            if (hit) {
                free(c->recs[at].key);
                free(c->recs[at].val);
            } else {
                memmove(&c->recs[at + 1], &c->recs[at], (c->n - at) * sizeof(*c->recs));
                c->n++;
            }
            c->recs[at] = *nr;
            nr->key = nr->val = NULL;
        } else if (hit) {
            free(c->recs[at].key);
            free(c->recs[at].val);
            memmove(&c->recs[at], &c->recs[at + 1], (c->n - at - 1) * sizeof(*c->recs));
            c->n--;
        }
    }
    pthread_rwlock_unlock(&m->lock);
out:
    for (i = 0; i < n_fresh; i++) {
        free(fresh[i].key);
        free(fresh[i].val);
    }
    free(fresh);
    return err;
}

static enum cantor_err mem_iter_new(struct cantor_kv *kv, enum cantor_store_cf cf,
                                    struct cantor_kv_iter **ret_it)
{
    struct cantor_kv_iter *it;

    if ((unsigned)cf >= CANTOR_CF__COUNT)
        return CANTOR_ERR_INVALID;
    it = calloc(1, sizeof(*it));
    if (!it)
        return CANTOR_ERR_NOMEM;
    it->m = (struct mem_kv *)kv;
    it->cf = cf;
    cantor_buf_init(&it->key, CANTOR_KV_MAX_KEY + 1);
    cantor_buf_init(&it->val, CANTOR_KV_MAX_VALUE + 1);
    *ret_it = it;
    return CANTOR_OK;
}

/* Copy record i (lock held) into the iterator, or mark it invalid. */
static void iter_load(struct cantor_kv_iter *it, const struct mem_cf *c, size_t i, bool in_range)
{
    cantor_buf_reset(&it->key);
    cantor_buf_reset(&it->val);
    it->valid = false;
    if (!in_range || i >= c->n)
        return;
    if (cantor_buf_append(&it->key, c->recs[i].key, c->recs[i].klen) ||
        cantor_buf_append(&it->val, c->recs[i].val, c->recs[i].vlen)) {
        it->status = CANTOR_ERR_NOMEM;
        return;
    }
    it->valid = true;
}

static void mem_iter_seek(struct cantor_kv_iter *it, const uint8_t *key, size_t klen)
{
    struct mem_cf *c = &it->m->cfs[it->cf];

    pthread_rwlock_rdlock(&it->m->lock);
    iter_load(it, c, lower_bound(c, key, klen), true);
    pthread_rwlock_unlock(&it->m->lock);
}

static void mem_iter_seek_for_prev(struct cantor_kv_iter *it, const uint8_t *key, size_t klen)
{
    struct mem_cf *c = &it->m->cfs[it->cf];
    size_t i;

    pthread_rwlock_rdlock(&it->m->lock);
    i = lower_bound(c, key, klen);
    if (found_at(c, i, key, klen))
        iter_load(it, c, i, true);
    else
        iter_load(it, c, i - 1, i > 0);
    pthread_rwlock_unlock(&it->m->lock);
}

static bool mem_iter_valid(struct cantor_kv_iter *it)
{
    return it->valid;
}

/* Re-find the current key, then step: the map may have changed since the last positioning. */
static void mem_iter_step(struct cantor_kv_iter *it, bool forward)
{
    struct mem_cf *c = &it->m->cfs[it->cf];
    size_t i;

    if (!it->valid)
        return;
    pthread_rwlock_rdlock(&it->m->lock);
    i = lower_bound(c, it->key.data, it->key.len);
    if (forward)
        iter_load(it, c, found_at(c, i, it->key.data, it->key.len) ? i + 1 : i, true);
    else
        iter_load(it, c, i - 1, i > 0);
    pthread_rwlock_unlock(&it->m->lock);
}

static void mem_iter_next(struct cantor_kv_iter *it)
{
    mem_iter_step(it, true);
}

static void mem_iter_prev(struct cantor_kv_iter *it)
{
    mem_iter_step(it, false);
}

static const uint8_t *mem_iter_key(struct cantor_kv_iter *it, size_t *ret_len)
{
    *ret_len = it->key.len;
    return it->key.data;
}

static const uint8_t *mem_iter_value(struct cantor_kv_iter *it, size_t *ret_len)
{
    *ret_len = it->val.len;
    return it->val.data ? it->val.data : (const uint8_t *)"";
}

static enum cantor_err mem_iter_status(struct cantor_kv_iter *it)
{
    return it->status;
}

static void mem_iter_free(struct cantor_kv_iter *it)
{
    if (!it)
        return;
    cantor_buf_release(&it->key);
    cantor_buf_release(&it->val);
    free(it);
}

static enum cantor_err mem_flush(struct cantor_kv *kv)
{
    return CANTOR_OK;
}

static enum cantor_err mem_checkpoint(struct cantor_kv *kv, const char *dir)
{
    return CANTOR_ERR_UNSUPPORTED;
}

static enum cantor_err mem_approx_size(struct cantor_kv *kv, enum cantor_store_cf cf, uint64_t *ret_bytes)
{
    struct mem_kv *m = (struct mem_kv *)kv;
    uint64_t total = 0;
    size_t i;

    if ((unsigned)cf >= CANTOR_CF__COUNT)
        return CANTOR_ERR_INVALID;
    pthread_rwlock_rdlock(&m->lock);
    for (i = 0; i < m->cfs[cf].n; i++)
        total += m->cfs[cf].recs[i].klen + m->cfs[cf].recs[i].vlen;
    pthread_rwlock_unlock(&m->lock);
    *ret_bytes = total;
    return CANTOR_OK;
}

static void mem_close(struct cantor_kv *kv)
{
    struct mem_kv *m = (struct mem_kv *)kv;
    size_t i, j;

    for (i = 0; i < CANTOR_CF__COUNT; i++) {
        for (j = 0; j < m->cfs[i].n; j++) {
            free(m->cfs[i].recs[j].key);
            free(m->cfs[i].recs[j].val);
        }
        free(m->cfs[i].recs);
    }
    pthread_rwlock_destroy(&m->lock);
    free(m);
}

static const struct cantor_kv_ops mem_ops = {
    .name = "mem",
    .get = mem_get,
    .write = mem_write,
    .iter_new = mem_iter_new,
    .iter_seek = mem_iter_seek,
    .iter_seek_for_prev = mem_iter_seek_for_prev,
    .iter_valid = mem_iter_valid,
    .iter_next = mem_iter_next,
    .iter_prev = mem_iter_prev,
    .iter_key = mem_iter_key,
    .iter_value = mem_iter_value,
    .iter_status = mem_iter_status,
    .iter_free = mem_iter_free,
    .flush = mem_flush,
    .checkpoint = mem_checkpoint,
    .approx_size = mem_approx_size,
    .close = mem_close,
};

enum cantor_err cantor_kv_mem_open(struct cantor_kv **ret_kv)
{
    struct mem_kv *m = calloc(1, sizeof(*m));

    if (!m)
        return CANTOR_ERR_NOMEM;
    if (pthread_rwlock_init(&m->lock, NULL)) {
        free(m);
        return CANTOR_ERR_NOMEM;
    }
    m->base.ops = &mem_ops;
    *ret_kv = &m->base;
    return CANTOR_OK;
}
