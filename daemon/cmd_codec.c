/*
 * cmd_codec.c - `cantor compress IN OUT` and `cantor decompress IN OUT`: a canonical delta (or a
 * recorded trace_replayBlockTransactions / debug_traceBlockByNumber JSON file) to one chunk and back.
 * `cantor compress IN... OUT` with several consecutive blocks makes one self-contained warm chunk of
 * all of them (docs/formats.md "Several blocks per chunk"): its context is only what its own blocks
 * show, so `cantor decompress` decodes it with the model alone.
 * `--train PATH...` builds the model snapshot from recorded files (deterministic: the same files give
 * the same model hash, which the chunk names); `--model BUNDLE` rebuilds a cantord model version from
 * its bundle (GET /v1/models/{hash}, core/codec.h), so a cold chunk from cantord decodes offline;
 * without either the untrained model is used.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "codec_cli.h"
#include "core/delta_json.h"
#include "core/hex.h"
#include "core/log.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_one(const char *file, struct cantor_cli_deltas *out)
{
    struct cantor_delta *d = NULL;
    enum cantor_err err = cantor_delta_load_recorded(file, &d);

    if (err) {
        fprintf(stderr, "cantor: skipping %s: %s\n", file, cantor_err_str(err));
        return 0;
    }
    if (out->n == out->cap) {
        size_t nc = out->cap ? out->cap * 2 : 16;
        struct cantor_delta **p = realloc(out->d, nc * sizeof(*p));
        char **q;
        if (!p) {
            cantor_delta_free(d);
            return -1;
        }
        out->d = p;
        q = realloc(out->name, nc * sizeof(*q));
        if (!q) {
            cantor_delta_free(d);
            return -1;
        }
        out->name = q;
        out->cap = nc;
    }
    out->name[out->n] = strdup(file);
    out->d[out->n++] = d;
    return out->name[out->n - 1] ? 0 : -1;
}

int cantor_cli_load_deltas(const char *path, struct cantor_cli_deltas *out)
{
    DIR *dir = opendir(path);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    if (!dir)
        return add_one(path, out);
    while ((de = readdir(dir)) != NULL && n < 100000) {
        size_t l = strlen(de->d_name);
        char *full;
        if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0) {
            /* said, not silent: a directory of rpc-tests as upstream ships it also holds .tar files */
            if (de->d_name[0] != '.')
                fprintf(stderr, "cantor: skipping %s/%s: %s\n", path, de->d_name,
                        de->d_type == DT_DIR ? "a directory (not searched: name it to read its recordings)"
                        : l > 4 && strcmp(de->d_name + l - 4, ".tar") == 0
                            ? "not a .json recording (rpc-tests' .tar files are bzip2 tarballs: unpack them "
                              "first)"
                            : "not a .json recording");
            continue;
        }
        if (n == cap) {
            char **p = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*p));
            if (!p) {
                rc = -1;
                break;
            }
            names = p;
        }
        full = malloc(strlen(path) + l + 2);
        if (!full) {
            rc = -1;
            break;
        }
        snprintf(full, strlen(path) + l + 2, "%s/%s", path, de->d_name);
        names[n++] = full;
    }
    closedir(dir);
    if (n)
        qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (!rc)
            rc = add_one(names[i], out);
        free(names[i]);
    }
    free(names);
    return rc;
}

void cantor_cli_deltas_release(struct cantor_cli_deltas *ds)
{
    for (size_t i = 0; i < ds->n; i++) {
        cantor_delta_free(ds->d[i]);
        free(ds->name[i]);
    }
    free(ds->d);
    free(ds->name);
    memset(ds, 0, sizeof(*ds));
}

static int write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok;

    if (!f)
        return -1;
    ok = fwrite(p, 1, n, f) == n;
    ok &= fclose(f) == 0;
    return ok ? 0 : -1;
}

#define USAGE  "usage: cantor %s [--train PATH]... [--model BUNDLE] IN%s OUT\n"
#define MAX_IN 64 /* blocks in one `cantor compress` chunk */

/* The model of a bundle file; a bundle whose rebuilt model is not what it claims cannot happen (the hash
 * is computed here), but a corrupt one is refused before training. */
static enum cantor_err model_from_bundle(const char *path, struct cantor_codec_model **ret_m)
{
    struct cantor_buf b;
    enum cantor_err err;

    cantor_buf_init(&b, CANTOR_CODEC_BUNDLE_MAX_BYTES);
    err = cantor_buf_read_file(&b, path);
    if (!err)
        err = cantor_codec_bundle_train(b.data, b.len, NULL, ret_m);
    cantor_buf_release(&b);
    return err;
}

/* Parse [--train PATH]... [--model BUNDLE] IN... OUT (at most max_in INs); builds the model. */
static int setup(int argc, char **argv, size_t max_in, struct cantor_codec_model **ret_m, const char **in,
                 size_t *ret_n_in, const char **out)
{
    struct cantor_cli_deltas tr = {0};
    const char *bundle = NULL, *pend = NULL;
    const char *many = max_in > 1 ? "..." : "";
    size_t n = 0, npos = 0;
    bool train_given = false;
    enum cantor_err err;

    *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--train") == 0 && i + 1 < argc) {
            train_given = true;
            if (cantor_cli_load_deltas(argv[++i], &tr)) {
                cantor_cli_deltas_release(&tr);
                return CANTOR_EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc && !bundle) {
            bundle = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0) {
            printf(USAGE, argv[0], many);
            cantor_cli_deltas_release(&tr);
            return -1;
        } else {
            /* positional: every one but the last is an input */
            if (pend && n < max_in)
                in[n++] = pend;
            pend = argv[i];
            npos++;
        }
    }
    *out = pend;
    if (npos < 2 || npos > max_in + 1 || (bundle && train_given)) {
        fprintf(stderr, USAGE "(--model and --train exclude each other; at most %zu input%s)\n", argv[0],
                many, max_in, max_in > 1 ? "s" : "");
        cantor_cli_deltas_release(&tr);
        return CANTOR_EXIT_USAGE;
    }
    if (train_given && tr.n == 0) { /* an untrained model is not what was asked for */
        fprintf(stderr, "cantor %s: no training blocks in the --train paths\n", argv[0]);
        cantor_cli_deltas_release(&tr);
        return CANTOR_EXIT_USAGE;
    }
    *ret_n_in = n;
    if (bundle) {
        err = model_from_bundle(bundle, ret_m);
        if (err) {
            fprintf(stderr, "cantor %s: model bundle %s: %s\n", argv[0], bundle, cantor_err_str(err));
            return CANTOR_EXIT_FAIL;
        }
        return 0;
    }
    err = cantor_codec_model_new(ret_m);
    if (!err && tr.n)
        err = cantor_codec_model_train(*ret_m, (const struct cantor_delta *const *)tr.d, tr.n);
    cantor_cli_deltas_release(&tr);
    if (err) {
        fprintf(stderr, "cantor %s: model: %s\n", argv[0], cantor_err_str(err));
        return CANTOR_EXIT_USAGE;
    }
    return 0;
}

/* One input as canonical delta bytes appended to raw: the bytes themselves, or a recording encoded. */
static enum cantor_err input_canonical(const char *path, struct cantor_buf *raw)
{
    struct cantor_buf in;
    struct cantor_delta *d = NULL;
    enum cantor_err err;

    cantor_buf_init(&in, CANTOR_DELTA_MAX_RECORDED);
    err = cantor_buf_read_file(&in, path);
    if (!err && in.len >= CANTOR_DELTA_MAGIC_LEN &&
        memcmp(in.data, CANTOR_DELTA_MAGIC, CANTOR_DELTA_MAGIC_LEN) == 0) {
        err = cantor_buf_append(raw, in.data, in.len);
    } else if (!err) {
        err = cantor_delta_parse_recorded((char *)in.data, in.len, NULL, &d);
        if (!err)
            err = cantor_delta_encode(d, raw);
    }
    cantor_delta_free(d);
    cantor_buf_release(&in);
    return err;
}

int cantor_cmd_compress(int argc, char **argv)
{
    struct cantor_codec_model *m = NULL;
    struct cantor_codec_ctx *ctx = NULL;
    struct cantor_buf raw, out;
    const char *ip[MAX_IN], *op;
    const uint8_t *p[MAX_IN];
    size_t l[MAX_IN], off[MAX_IN], n = 0;
    uint8_t codec = 0;
    int rc = setup(argc, argv, MAX_IN, &m, ip, &n, &op);
    enum cantor_err err = CANTOR_OK;

    if (rc)
        return rc < 0 ? CANTOR_EXIT_OK : rc;
    cantor_buf_init(&raw, CANTOR_CHUNK_MAX_RAW);
    cantor_buf_init(&out, CANTOR_CHUNK_MAX_LEN);
    rc = CANTOR_EXIT_FAIL;
    for (size_t i = 0; i < n && !err; i++) {
        off[i] = raw.len;
        err = input_canonical(ip[i], &raw);
        l[i] = raw.len - off[i];
        if (err)
            fprintf(stderr, "cantor compress: %s: %s\n", ip[i], cantor_err_str(err));
    }
    if (err)
        goto out;
    for (size_t i = 0; i < n; i++)
        p[i] = raw.data + off[i];
    /* several blocks: one warm chunk whose context is only what its own blocks show */
    if (n > 1)
        err = cantor_codec_ctx_new(&ctx);
    if (!err)
        err = cantor_codec_compress_blocks(m, ctx, NULL, p, l, n, &out, &codec);
    if (err) {
        fprintf(stderr, "cantor compress: %s%s: %s%s\n", ip[0], n > 1 ? "..." : "", cantor_err_str(err),
                err == CANTOR_ERR_INVALID && n > 1 ? " (the inputs must be consecutive blocks, in order)"
                                                   : "");
        goto out;
    }
    if (write_file(op, out.data, out.len)) {
        fprintf(stderr, "cantor compress: cannot write %s\n", op);
        rc = CANTOR_EXIT_USAGE;
        goto out;
    }
    if (n > 1)
        fprintf(stderr, "%s ... %s (%zu blocks): %zu -> %zu bytes (%s)\n", ip[0], ip[n - 1], n, raw.len,
                out.len, cantor_codec_name(codec));
    else
        fprintf(stderr, "%s: %zu -> %zu bytes (%s)\n", ip[0], raw.len, out.len, cantor_codec_name(codec));
    rc = CANTOR_EXIT_OK;
out:
    cantor_codec_ctx_free(ctx);
    cantor_buf_release(&raw);
    cantor_buf_release(&out);
    cantor_codec_model_free(m);
    return rc;
}

int cantor_cmd_decompress(int argc, char **argv)
{
    struct cantor_codec_model *m = NULL;
    struct cantor_codec_ctx *ctx = NULL;
    struct cantor_chunk_info hi;
    struct cantor_buf in, out;
    const char *ip, *op;
    size_t n_in = 0;
    int rc = setup(argc, argv, 1, &m, &ip, &n_in, &op);
    enum cantor_err err;

    if (rc)
        return rc < 0 ? CANTOR_EXIT_OK : rc;
    cantor_buf_init(&in, CANTOR_CHUNK_MAX_LEN);
    cantor_buf_init(&out, CANTOR_CHUNK_MAX_RAW);
    rc = CANTOR_EXIT_USAGE;
    if (cantor_cli_read_file("decompress", ip, &in))
        goto out;
    /* a self-contained warm chunk of several blocks (`cantor compress IN... OUT`, GET ...?count=K)
     * decodes with a fresh context; any other warm chunk was coded against cantord's state before it,
     * which is not here whatever the model */
    err = cantor_chunk_parse_header(in.data, in.len, &hi);
    if (!err && hi.codec == CANTOR_CODEC_CM_WARM && !(hi.flags & CANTOR_CHUNK_FLAG_SELF)) {
        fprintf(stderr,
                "cantor decompress: %s: this warm chunk (blocks %llu..%llu) needs the state and keys before "
                "block %llu: decode it with cantord (POST /v1/decompress)\n",
                ip, (unsigned long long)hi.first_block, (unsigned long long)hi.last_block,
                (unsigned long long)hi.first_block);
        rc = CANTOR_EXIT_FAIL;
        goto out;
    }
    if (!err && (hi.flags & CANTOR_CHUNK_FLAG_SELF))
        err = cantor_codec_ctx_new(&ctx);
    if (!err || err == CANTOR_ERR_TRUNCATED || err == CANTOR_ERR_CORRUPT || err == CANTOR_ERR_UNSUPPORTED ||
        err == CANTOR_ERR_TOO_LARGE)
        err = cantor_codec_decompress(m, ctx, in.data, in.len, &out);
    if (err == CANTOR_ERR_UNKNOWN_MODEL) {
        struct cantor_chunk_info ci = {0};
        char want[67] = "?", have[67];
        uint8_t h[32];

        if (!cantor_chunk_parse_header(in.data, in.len, &ci))
            cantor_hex_encode(ci.model_hash, ci.model_hash_len, want);
        cantor_codec_model_hash(m, h);
        cantor_hex_encode(h, ci.model_hash_len ? ci.model_hash_len : 8, have);
        fprintf(stderr,
                "cantor decompress: %s: unknown model: the chunk names model %s, the model given is %s "
                "(fetch its bundle: GET /v1/models/%s, then --model FILE)\n",
                ip, want, have, want);
        rc = CANTOR_EXIT_FAIL;
        goto out;
    }
    if (err) {
        fprintf(stderr, "cantor decompress: %s: %s\n", ip, cantor_err_str(err));
        rc = CANTOR_EXIT_FAIL;
        goto out;
    }
    if (write_file(op, out.data, out.len)) {
        fprintf(stderr, "cantor decompress: cannot write %s\n", op);
        goto out;
    }
    rc = CANTOR_EXIT_OK;
out:
    cantor_codec_ctx_free(ctx);
    cantor_buf_release(&in);
    cantor_buf_release(&out);
    cantor_codec_model_free(m);
    return rc;
}
