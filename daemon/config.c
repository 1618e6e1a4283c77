/*
 * config.c - parse, validate, reload and print cantord's configuration, all driven by the option
 * table in config_table.c (see config.h).
 *
 * Memory: struct cantor_config owns its strings; cantor_config_set replaces (and frees) the old
 * value. Text output goes into a caller-owned struct cantor_buf.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

#define WRAP_COLS 100
#define HELP_COL  30

static void *field(const struct cantor_config *cfg, const struct cantor_opt *opt)
{
    return (char *)cfg + opt->offset;
}

const struct cantor_opt *cantor_config_find(const char *name)
{
    for (size_t i = 0; i < cantor_config_table_len; i++)
        if (strcmp(cantor_config_table[i].name, name) == 0)
            return &cantor_config_table[i];
    return NULL;
}

const struct cantor_opt *cantor_config_find_flag(const char *flag)
{
    for (size_t i = 0; i < cantor_config_table_len; i++)
        if (cantor_config_table[i].flag && strcmp(cantor_config_table[i].flag, flag) == 0)
            return &cantor_config_table[i];
    return NULL;
}

/* Digits only, no sign, no spaces: "007" is 7, "-1" and " 1" are errors. Stops at the first non-digit. */
static enum cantor_err parse_digits(const char **sp, uint64_t *ret)
{
    const char *s = *sp;
    uint64_t v = 0;

    if (*s < '0' || *s > '9')
        return CANTOR_ERR_INVALID;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return CANTOR_ERR_OVERFLOW;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *sp = s;
    *ret = v;
    return CANTOR_OK;
}

static enum cantor_err mul_checked(uint64_t v, uint64_t unit, uint64_t *ret)
{
    if (unit && v > UINT64_MAX / unit)
        return CANTOR_ERR_OVERFLOW;
    *ret = v * unit;
    return CANTOR_OK;
}

enum cantor_err cantor_config_parse_size(const char *s, uint64_t *ret_bytes)
{
    uint64_t v, unit = 1;
    enum cantor_err err;

    err = parse_digits(&s, &v);
    if (err)
        return err;
    switch (toupper((unsigned char)*s)) {
    case 'K':
        unit = UINT64_C(1) << 10;
        break;
    case 'M':
        unit = UINT64_C(1) << 20;
        break;
    case 'G':
        unit = UINT64_C(1) << 30;
        break;
    case 'T':
        unit = UINT64_C(1) << 40;
        break;
    }
    if (unit != 1)
        s++;
    if (*s == 'B' || *s == 'b')
        s++;
    if (*s)
        return CANTOR_ERR_INVALID;
    return mul_checked(v, unit, ret_bytes);
}

enum cantor_err cantor_config_parse_duration(const char *s, uint64_t *ret_ms)
{
    uint64_t v, unit;
    enum cantor_err err;

    err = parse_digits(&s, &v);
    if (err)
        return err;
    if (strcmp(s, "ms") == 0)
        unit = 1;
    else if (strcmp(s, "s") == 0)
        unit = 1000;
    else if (strcmp(s, "m") == 0)
        unit = 60 * 1000;
    else if (strcmp(s, "h") == 0)
        unit = 3600 * 1000;
    else if (*s == '\0' && v == 0)
        unit = 1;
    else
        return CANTOR_ERR_INVALID;
    return mul_checked(v, unit, ret_ms);
}

enum cantor_err cantor_config_parse_bool(const char *s, bool *ret_value)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcmp(s, yes[i]) == 0) {
            *ret_value = true;
            return CANTOR_OK;
        }
        if (strcmp(s, no[i]) == 0) {
            *ret_value = false;
            return CANTOR_OK;
        }
    }
    return CANTOR_ERR_INVALID;
}

static enum cantor_err parse_int(const char *s, int64_t *ret)
{
    bool neg = false;
    uint64_t v;
    enum cantor_err err;

    if (*s == '-') {
        neg = true;
        s++;
    }
    err = parse_digits(&s, &v);
    if (err)
        return err;
    if (*s)
        return CANTOR_ERR_INVALID;
    if (v > (uint64_t)INT64_MAX)
        return CANTOR_ERR_OVERFLOW;
    *ret = neg ? -(int64_t)v : (int64_t)v;
    return CANTOR_OK;
}

static void format_size(uint64_t v, char *out, size_t n)
{
    static const char units[] = "TGMK";

    for (int i = 0; i < 4; i++) {
        unsigned shift = (unsigned)(40 - 10 * i);
        uint64_t u = UINT64_C(1) << shift;
        if (v && v % u == 0) {
            snprintf(out, n, "%" PRIu64 "%c", v >> shift, units[i]);
            return;
        }
    }
    snprintf(out, n, "%" PRIu64, v);
}

static void format_duration(uint64_t ms, char *out, size_t n)
{
    if (ms && ms % 3600000 == 0)
        snprintf(out, n, "%" PRIu64 "h", ms / 3600000);
    else if (ms && ms % 60000 == 0)
        snprintf(out, n, "%" PRIu64 "m", ms / 60000);
    else if (ms && ms % 1000 == 0)
        snprintf(out, n, "%" PRIu64 "s", ms / 1000);
    else
        snprintf(out, n, "%" PRIu64 "ms", ms);
}

static void format_bound(const struct cantor_opt *opt, int64_t v, char *out, size_t n)
{
    if (opt->type == CANTOR_OPT_SIZE)
        format_size((uint64_t)v, out, n);
    else if (opt->type == CANTOR_OPT_DURATION)
        format_duration((uint64_t)v, out, n);
    else
        snprintf(out, n, "%" PRId64, v);
}

static const char *type_name(const struct cantor_opt *opt)
{
    switch (opt->type) {
    case CANTOR_OPT_STRING:
        return "string";
    case CANTOR_OPT_INT:
        return "integer";
    case CANTOR_OPT_BOOL:
        return "bool";
    case CANTOR_OPT_SIZE:
        return "size";
    case CANTOR_OPT_DURATION:
        return "duration";
    case CANTOR_OPT_ENUM:
        return "enum";
    case CANTOR_OPT_PATH:
        return "path";
    }
    return "?";
}

static enum cantor_err out_of_range(const struct cantor_opt *opt, const char *value, char *errbuf,
                                    size_t errlen)
{
    char lo[32], hi[32];

    format_bound(opt, opt->min, lo, sizeof(lo));
    format_bound(opt, opt->max, hi, sizeof(hi));
    snprintf(errbuf, errlen, "%s: %s is out of range %s..%s", opt->name, value, lo, hi);
    return CANTOR_ERR_INVALID;
}

static enum cantor_err set_string(char **slot, const char *value)
{
    char *copy = strdup(value);

    if (!copy)
        return CANTOR_ERR_NOMEM;
    free(*slot);
    *slot = copy;
    return CANTOR_OK;
}

enum cantor_err cantor_config_set(struct cantor_config *cfg, const struct cantor_opt *opt, const char *value,
                                  char *errbuf, size_t errlen)
{
    char msg[CANTOR_CONFIG_ERRLEN];
    enum cantor_err err;
    uint64_t u;
    int64_t i;
    bool b;

    if (strlen(value) >= CANTOR_CONFIG_MAX_LINE) {
        snprintf(errbuf, errlen, "%s: value too long", opt->name);
        return CANTOR_ERR_TOO_LARGE;
    }
    switch (opt->type) {
    case CANTOR_OPT_STRING:
    case CANTOR_OPT_PATH:
        if (opt->validate && opt->validate(value, msg, sizeof(msg))) {
            snprintf(errbuf, errlen, "%s: %s", opt->name, msg);
            return CANTOR_ERR_INVALID;
        }
        err = set_string((char **)field(cfg, opt), value);
        if (err)
            snprintf(errbuf, errlen, "%s: out of memory", opt->name);
        return err;
    case CANTOR_OPT_INT:
        if (parse_int(value, &i)) {
            snprintf(errbuf, errlen, "%s: expected an integer, got '%s'", opt->name, value);
            return CANTOR_ERR_INVALID;
        }
        if (i < opt->min || i > opt->max)
            return out_of_range(opt, value, errbuf, errlen);
        *(int64_t *)field(cfg, opt) = i;
        return CANTOR_OK;
    case CANTOR_OPT_SIZE:
    case CANTOR_OPT_DURATION:
        err = opt->type == CANTOR_OPT_SIZE ? cantor_config_parse_size(value, &u)
                                           : cantor_config_parse_duration(value, &u);
        if (err == CANTOR_ERR_OVERFLOW)
            return out_of_range(opt, value, errbuf, errlen);
        if (err) {
            snprintf(errbuf, errlen, "%s: expected %s, got '%s'", opt->name,
                     opt->type == CANTOR_OPT_SIZE ? "a size (bytes or with K, M, G, T)"
                                                  : "a duration with a unit (ms, s, m, h)",
                     value);
            return CANTOR_ERR_INVALID;
        }
        if (u < (uint64_t)opt->min || u > (uint64_t)opt->max)
            return out_of_range(opt, value, errbuf, errlen);
        *(uint64_t *)field(cfg, opt) = u;
        return CANTOR_OK;
    case CANTOR_OPT_BOOL:
        if (cantor_config_parse_bool(value, &b)) {
            snprintf(errbuf, errlen, "%s: expected true or false, got '%s'", opt->name, value);
            return CANTOR_ERR_INVALID;
        }
        *(bool *)field(cfg, opt) = b;
        return CANTOR_OK;
    case CANTOR_OPT_ENUM:
        for (int k = 0; opt->choices[k]; k++) {
            if (strcmp(opt->choices[k], value) == 0) {
                *(int *)field(cfg, opt) = k;
                return CANTOR_OK;
            }
        }
        {
            struct cantor_buf b2;
            cantor_buf_init(&b2, 256);
            for (int k = 0; opt->choices[k]; k++)
                (void)cantor_buf_printf(&b2, "%s%s", k ? ", " : "", opt->choices[k]);
            snprintf(errbuf, errlen, "%s: expected one of %s, got '%s'", opt->name,
                     b2.data ? (char *)b2.data : "", value);
            cantor_buf_release(&b2);
        }
        return CANTOR_ERR_INVALID;
    }
    return CANTOR_ERR_INVALID;
}

void cantor_config_free(struct cantor_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cantor_config_table_len; i++) {
        const struct cantor_opt *opt = &cantor_config_table[i];
        if (opt->type == CANTOR_OPT_STRING || opt->type == CANTOR_OPT_PATH)
            free(*(char **)field(cfg, opt));
    }
    free(cfg);
}

enum cantor_err cantor_config_new(struct cantor_config **ret_cfg)
{
    struct cantor_config *cfg = calloc(1, sizeof(*cfg));
    char msg[CANTOR_CONFIG_ERRLEN];
    enum cantor_err err = CANTOR_OK;

    if (!cfg)
        return CANTOR_ERR_NOMEM;
    for (size_t i = 0; i < cantor_config_table_len; i++) {
        err = cantor_config_set(cfg, &cantor_config_table[i], cantor_config_table[i].def, msg, sizeof(msg));
        if (err) {
            /* A bad default is a bug in config_table.c; the unit test catches it. */
            log_error("config", "default of %s", msg);
            goto out;
        }
    }
    *ret_cfg = cfg;
    cfg = NULL;
out:
    cantor_config_free(cfg);
    return err;
}

/* Parse the value part of a line (after '='): quoted with \" and \\ escapes, or bare up to " #". */
static enum cantor_err parse_value(const char *p, const char *end, char *out, size_t outlen, char *errbuf,
                                   size_t errlen)
{
    size_t n = 0;

    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p < end && *p == '"') {
        for (p++;; p++) {
            if (p >= end) {
                snprintf(errbuf, errlen, "unterminated quoted value");
                return CANTOR_ERR_INVALID;
            }
            if (*p == '"')
                break;
            if (*p == '\\') {
                if (p + 1 >= end || (p[1] != '"' && p[1] != '\\')) {
                    snprintf(errbuf, errlen, "only \\\" and \\\\ escapes are allowed in quoted values");
                    return CANTOR_ERR_INVALID;
                }
                p++;
            }
            if (n + 1 >= outlen)
                return CANTOR_ERR_TOO_LARGE;
            out[n++] = *p;
        }
        for (p++; p < end && (*p == ' ' || *p == '\t'); p++)
            ;
        if (p < end && *p != '#') {
            snprintf(errbuf, errlen, "unexpected text after the quoted value");
            return CANTOR_ERR_INVALID;
        }
        out[n] = '\0';
        return CANTOR_OK;
    }
    for (const char *q = p; q < end; q++) {
        if (*q == '#' && (q == p || q[-1] == ' ' || q[-1] == '\t')) {
            end = q;
            break;
        }
    }
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if ((size_t)(end - p) >= outlen)
        return CANTOR_ERR_TOO_LARGE;
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
    return CANTOR_OK;
}

static enum cantor_err parse_line(struct cantor_config *cfg, const char *p, const char *end, unsigned lineno,
                                  unsigned *set_on, char *errbuf, size_t errlen)
{
    char key[64], value[CANTOR_CONFIG_MAX_LINE];
    const char *k;
    const struct cantor_opt *opt;
    size_t klen, idx;
    enum cantor_err err;

    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p == end || *p == '#')
        return CANTOR_OK;
    k = p;
    while (p < end && (isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.'))
        p++;
    klen = (size_t)(p - k);
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (klen == 0 || p == end || *p != '=') {
        snprintf(errbuf, errlen, "expected 'key = value'");
        return CANTOR_ERR_INVALID;
    }
    if (klen >= sizeof(key)) {
        snprintf(errbuf, errlen, "unknown option '%.*s...'", 32, k);
        return CANTOR_ERR_INVALID;
    }
    memcpy(key, k, klen);
    key[klen] = '\0';
    opt = cantor_config_find(key);
    if (!opt) {
        char alt[64];
        memcpy(alt, key, klen + 1);
        for (char *c = alt; *c; c++)
            *c = *c == '-' ? '_' : (char)tolower((unsigned char)*c);
        if (cantor_config_find(alt))
            snprintf(errbuf, errlen, "unknown option '%s' (did you mean '%s'?)", key, alt);
        else
            snprintf(errbuf, errlen, "unknown option '%s'", key);
        return CANTOR_ERR_INVALID;
    }
    if (opt->cmdline_only) {
        snprintf(errbuf, errlen, "'%s' can only be given on the command line (%s)", key, opt->flag);
        return CANTOR_ERR_INVALID;
    }
    idx = (size_t)(opt - cantor_config_table);
    if (set_on[idx]) {
        snprintf(errbuf, errlen, "'%s' is already set on line %u", key, set_on[idx]);
        return CANTOR_ERR_INVALID;
    }
    err = parse_value(p + 1, end, value, sizeof(value), errbuf, errlen);
    if (err == CANTOR_ERR_TOO_LARGE)
        snprintf(errbuf, errlen, "value too long");
    if (err)
        return err;
    err = cantor_config_set(cfg, opt, value, errbuf, errlen);
    if (err)
        return err;
    set_on[idx] = lineno;
    return CANTOR_OK;
}

enum cantor_err cantor_config_parse_text(struct cantor_config *cfg, const char *source, const char *text,
                                         size_t len, char *errbuf, size_t errlen)
{
    char msg[CANTOR_CONFIG_ERRLEN];
    unsigned *set_on = NULL;
    unsigned lineno = 0;
    const char *p = text, *end = text + len;
    enum cantor_err err = CANTOR_OK;

    if (len > CANTOR_CONFIG_MAX_FILE) {
        snprintf(errbuf, errlen, "%s: larger than %d bytes", source, CANTOR_CONFIG_MAX_FILE);
        return CANTOR_ERR_TOO_LARGE;
    }
    set_on = calloc(cantor_config_table_len, sizeof(*set_on));
    if (!set_on)
        return CANTOR_ERR_NOMEM;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;

        lineno++;
        msg[0] = '\0';
        if (eol > p && eol[-1] == '\r')
            eol--;
        if ((size_t)(eol - p) >= CANTOR_CONFIG_MAX_LINE) {
            snprintf(msg, sizeof(msg), "line longer than %d bytes", CANTOR_CONFIG_MAX_LINE - 1);
            err = CANTOR_ERR_TOO_LARGE;
        } else if (memchr(p, '\0', (size_t)(eol - p))) {
            snprintf(msg, sizeof(msg), "NUL byte in line");
            err = CANTOR_ERR_INVALID;
        } else {
            err = parse_line(cfg, p, eol, lineno, set_on, msg, sizeof(msg));
        }
        if (err) {
            snprintf(errbuf, errlen, "%s:%u: %s", source, lineno, msg[0] ? msg : cantor_err_str(err));
            goto out;
        }
        p = nl ? nl + 1 : end;
    }
out:
    free(set_on);
    return err;
}

enum cantor_err cantor_config_parse_file(struct cantor_config *cfg, const char *path, char *errbuf,
                                         size_t errlen)
{
    struct cantor_buf b;
    char tmp[8192];
    enum cantor_err err = CANTOR_OK;
    ssize_t n;
    int fd;

    cantor_buf_init(&b, CANTOR_CONFIG_MAX_FILE);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
        return CANTOR_ERR_IO;
    }
    for (;;) {
        n = read(fd, tmp, sizeof(tmp));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
            err = CANTOR_ERR_IO;
            goto out;
        }
        if (n == 0)
            break;
        err = cantor_buf_append(&b, tmp, (size_t)n);
        if (err) {
            snprintf(errbuf, errlen, "%s: larger than %d bytes", path, CANTOR_CONFIG_MAX_FILE);
            goto out;
        }
    }
    err = cantor_config_parse_text(cfg, path, b.data ? (const char *)b.data : "", b.len, errbuf, errlen);
out:
    close(fd);
    cantor_buf_release(&b);
    return err;
}

enum cantor_err cantor_config_validate(const struct cantor_config *cfg, char *errbuf, size_t errlen)
{
    if (cfg->rpc_backoff_initial > cfg->rpc_backoff_max) {
        snprintf(errbuf, errlen, "rpc_backoff_initial must not exceed rpc_backoff_max");
        return CANTOR_ERR_CONFIG;
    }
    if (cfg->data_dir[0] == '\0') {
        snprintf(errbuf, errlen, "data_dir must not be empty");
        return CANTOR_ERR_CONFIG;
    }
    if (cfg->dev && cfg->eth_rpc[0]) {
        snprintf(errbuf, errlen, "dev starts its own chain: leave eth_rpc empty");
        return CANTOR_ERR_CONFIG;
    }
    return CANTOR_OK;
}

enum cantor_err cantor_config_load(const struct cantor_cmdline *cmdline, struct cantor_config **ret_cfg,
                                   char *errbuf, size_t errlen)
{
    struct cantor_config *cfg = NULL;
    char msg[CANTOR_CONFIG_ERRLEN];
    enum cantor_err err;

    err = cantor_config_new(&cfg);
    if (err) {
        snprintf(errbuf, errlen, "cannot build the default configuration: %s", cantor_err_str(err));
        goto out;
    }
    if (cmdline->config_path) {
        err = cantor_config_set(cfg, cantor_config_find("config"), cmdline->config_path, errbuf, errlen);
        if (err)
            goto out;
        err = cantor_config_parse_file(cfg, cmdline->config_path, errbuf, errlen);
        if (err)
            goto out;
    }
    for (size_t i = 0; i < cmdline->n_overrides; i++) {
        const struct cantor_override *o = &cmdline->overrides[i];
        err = cantor_config_set(cfg, o->opt, o->value, msg, sizeof(msg));
        if (err) {
            snprintf(errbuf, errlen, "command line: %s", msg);
            goto out;
        }
    }
    err = cantor_config_validate(cfg, errbuf, errlen);
    if (err)
        goto out;
    *ret_cfg = cfg;
    cfg = NULL;
out:
    cantor_config_free(cfg);
    return err;
}

bool cantor_config_equal(const struct cantor_config *a, const struct cantor_config *b,
                         const struct cantor_opt *opt)
{
    switch (opt->type) {
    case CANTOR_OPT_STRING:
    case CANTOR_OPT_PATH:
        return strcmp(*(char **)field(a, opt), *(char **)field(b, opt)) == 0;
    case CANTOR_OPT_INT:
        return *(int64_t *)field(a, opt) == *(int64_t *)field(b, opt);
    case CANTOR_OPT_SIZE:
    case CANTOR_OPT_DURATION:
        return *(uint64_t *)field(a, opt) == *(uint64_t *)field(b, opt);
    case CANTOR_OPT_BOOL:
        return *(bool *)field(a, opt) == *(bool *)field(b, opt);
    case CANTOR_OPT_ENUM:
        return *(int *)field(a, opt) == *(int *)field(b, opt);
    }
    return false;
}

/* Swap one option's value between two configs (strings swap ownership). */
static void swap_value(struct cantor_config *a, struct cantor_config *b, const struct cantor_opt *opt)
{
    uint8_t tmp[sizeof(uint64_t) > sizeof(char *) ? sizeof(uint64_t) : sizeof(char *)];
    size_t n;

    switch (opt->type) {
    case CANTOR_OPT_STRING:
    case CANTOR_OPT_PATH:
        n = sizeof(char *);
        break;
    case CANTOR_OPT_INT:
        n = sizeof(int64_t);
        break;
    case CANTOR_OPT_SIZE:
    case CANTOR_OPT_DURATION:
        n = sizeof(uint64_t);
        break;
    case CANTOR_OPT_BOOL:
        n = sizeof(bool);
        break;
    case CANTOR_OPT_ENUM:
    default:
        n = sizeof(int);
        break;
    }
    memcpy(tmp, field(a, opt), n);
    memcpy(field(a, opt), field(b, opt), n);
    memcpy(field(b, opt), tmp, n);
}

enum cantor_err cantor_config_reload(struct cantor_config *cfg, const struct cantor_cmdline *cmdline,
                                     struct cantor_config_reload_result *ret_result, char *errbuf,
                                     size_t errlen)
{
    struct cantor_config_reload_result res = {0, 0};
    struct cantor_config *fresh = NULL;
    struct cantor_buf oldv, newv;
    enum cantor_err err;

    cantor_buf_init(&oldv, CANTOR_CONFIG_MAX_LINE * 2);
    cantor_buf_init(&newv, CANTOR_CONFIG_MAX_LINE * 2);
    err = cantor_config_load(cmdline, &fresh, errbuf, errlen);
    if (err)
        goto out;
    for (size_t i = 0; i < cantor_config_table_len; i++) {
        const struct cantor_opt *opt = &cantor_config_table[i];

        if (opt->cmdline_only || cantor_config_equal(cfg, fresh, opt))
            continue;
        cantor_buf_reset(&oldv);
        cantor_buf_reset(&newv);
        err = cantor_config_format_value(cfg, opt, &oldv);
        if (!err)
            err = cantor_config_format_value(fresh, opt, &newv);
        if (err)
            goto out;
        if (opt->reloadable) {
            swap_value(cfg, fresh, opt);
            log_info("config", "reload: %s: %s -> %s", opt->name, (char *)oldv.data, (char *)newv.data);
            res.applied++;
        } else {
            log_warn("config", "reload: %s changed (%s -> %s) but needs a restart; keeping %s", opt->name,
                     (char *)oldv.data, (char *)newv.data, (char *)oldv.data);
            res.ignored++;
        }
    }
    if (ret_result)
        *ret_result = res;
out:
    cantor_config_free(fresh);
    cantor_buf_release(&oldv);
    cantor_buf_release(&newv);
    return err;
}

static bool needs_quotes(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || s[0] == '"' || s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')
        return true;
    return strchr(s, '#') != NULL;
}

enum cantor_err cantor_config_format_value(const struct cantor_config *cfg, const struct cantor_opt *opt,
                                           struct cantor_buf *out)
{
    char tmp[64];
    const char *s;
    enum cantor_err err;

    switch (opt->type) {
    case CANTOR_OPT_STRING:
    case CANTOR_OPT_PATH:
        s = *(char **)field(cfg, opt);
        if (!needs_quotes(s))
            return cantor_buf_append_str(out, s);
        err = cantor_buf_append_byte(out, '"');
        for (; !err && *s; s++) {
            if (*s == '"' || *s == '\\')
                err = cantor_buf_append_byte(out, '\\');
            if (!err)
                err = cantor_buf_append_byte(out, (uint8_t)*s);
        }
        return err ? err : cantor_buf_append_byte(out, '"');
    case CANTOR_OPT_INT:
        return cantor_buf_printf(out, "%" PRId64, *(int64_t *)field(cfg, opt));
    case CANTOR_OPT_SIZE:
        format_size(*(uint64_t *)field(cfg, opt), tmp, sizeof(tmp));
        return cantor_buf_append_str(out, tmp);
    case CANTOR_OPT_DURATION:
        format_duration(*(uint64_t *)field(cfg, opt), tmp, sizeof(tmp));
        return cantor_buf_append_str(out, tmp);
    case CANTOR_OPT_BOOL:
        return cantor_buf_append_str(out, *(bool *)field(cfg, opt) ? "true" : "false");
    case CANTOR_OPT_ENUM:
        return cantor_buf_append_str(out, opt->choices[*(int *)field(cfg, opt)]);
    }
    return CANTOR_ERR_INVALID;
}

static enum cantor_err usage_error(char *errbuf, size_t errlen, const char *fmt, const char *arg)
{
    snprintf(errbuf, errlen, fmt, arg);
    return CANTOR_ERR_INVALID;
}

static enum cantor_err add_override(struct cantor_cmdline *cl, const struct cantor_opt *opt,
                                    const char *value, const char *flag, char *errbuf, size_t errlen)
{
    if (cl->n_overrides >= CANTOR_CONFIG_MAX_OVERRIDES)
        return usage_error(errbuf, errlen, "%s: too many options on the command line", flag);
    cl->overrides[cl->n_overrides].opt = opt;
    cl->overrides[cl->n_overrides].value = value;
    cl->overrides[cl->n_overrides].flag = flag;
    cl->n_overrides++;
    return CANTOR_OK;
}

enum cantor_err cantor_config_parse_cmdline(int argc, char **argv, struct cantor_cmdline *ret_cmdline,
                                            char *errbuf, size_t errlen)
{
    static const struct {
        const char *flag;
        enum cantor_cmd_action action;
    } actions[] = {
        {"--help", CANTOR_ACTION_HELP},          {"-h", CANTOR_ACTION_HELP},
        {"--version", CANTOR_ACTION_VERSION},    {"-V", CANTOR_ACTION_VERSION},
        {"--check-config", CANTOR_ACTION_CHECK}, {"--dump-config", CANTOR_ACTION_DUMP},
        {"--gen-docs", CANTOR_ACTION_GEN_DOCS},  {"--gen-conf", CANTOR_ACTION_GEN_CONF},
    };
    struct cantor_cmdline *cl = ret_cmdline;
    enum cantor_err err;

    memset(cl, 0, sizeof(*cl));
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        char name[64];
        const char *eq, *value = NULL;
        const struct cantor_opt *opt;
        size_t nlen;
        bool matched = false;

        for (size_t k = 0; k < sizeof(actions) / sizeof(actions[0]); k++) {
            if (strcmp(arg, actions[k].flag) == 0) {
                if (cl->action != CANTOR_ACTION_RUN && cl->action != actions[k].action)
                    return usage_error(errbuf, errlen, "%s: conflicts with an earlier action flag", arg);
                cl->action = actions[k].action;
                matched = true;
            }
        }
        if (matched)
            continue;
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
            return usage_error(errbuf, errlen, "unexpected argument '%s'", arg);
        eq = strchr(arg, '=');
        nlen = eq ? (size_t)(eq - arg) : strlen(arg);
        if (nlen >= sizeof(name))
            return usage_error(errbuf, errlen, "unknown option '%.40s...'", arg);
        memcpy(name, arg, nlen);
        name[nlen] = '\0';
        if (eq)
            value = eq + 1;
        if (strcmp(name, "--set") == 0) {
            char key[64];
            const char *keq;

            if (!value && i + 1 < argc)
                value = argv[++i];
            if (!value || !(keq = strchr(value, '=')) || keq == value || (size_t)(keq - value) >= sizeof(key))
                return usage_error(errbuf, errlen, "%s", "--set: expected NAME=VALUE");
            memcpy(key, value, (size_t)(keq - value));
            key[keq - value] = '\0';
            opt = cantor_config_find(key);
            if (!opt || opt->cmdline_only)
                return usage_error(errbuf, errlen, "--set: unknown option '%s'", key);
            err = add_override(cl, opt, keq + 1, opt->name, errbuf, errlen);
            if (err)
                return err;
            continue;
        }
        opt = cantor_config_find_flag(name);
        if (!opt)
            return usage_error(errbuf, errlen, "unknown option '%s' (see --help)", name);
        if (!value && opt->type == CANTOR_OPT_BOOL) {
            value = "true";
        } else if (!value) {
            if (i + 1 >= argc)
                return usage_error(errbuf, errlen, "%s needs a value", opt->flag);
            value = argv[++i];
        }
        if (opt->cmdline_only) {
            cl->config_path = value;
            continue;
        }
        err = add_override(cl, opt, value, opt->flag, errbuf, errlen);
        if (err)
            return err;
    }
    return CANTOR_OK;
}

/* Append text wrapped at WRAP_COLS, each line starting with prefix (first line already started). */
static enum cantor_err append_wrapped(struct cantor_buf *out, const char *text, const char *prefix,
                                      size_t col)
{
    const char *p = text;
    enum cantor_err err = CANTOR_OK;

    while (*p && !err) {
        size_t wlen = strcspn(p, " ");

        if (col > strlen(prefix) && col + 1 + wlen > WRAP_COLS) {
            err = cantor_buf_printf(out, "\n%s", prefix);
            col = strlen(prefix);
        } else if (col > strlen(prefix)) {
            err = cantor_buf_append_byte(out, ' ');
            col++;
        }
        if (!err)
            err = cantor_buf_append(out, p, wlen);
        col += wlen;
        p += wlen;
        while (*p == ' ')
            p++;
    }
    return err;
}

static enum cantor_err append_choices(struct cantor_buf *out, const struct cantor_opt *opt, const char *sep)
{
    enum cantor_err err = CANTOR_OK;

    for (int k = 0; !err && opt->choices[k]; k++)
        err = cantor_buf_printf(out, "%s%s", k ? sep : "", opt->choices[k]);
    return err;
}

static const char *metavar(const struct cantor_opt *opt)
{
    if (opt->metavar)
        return opt->metavar;
    switch (opt->type) {
    case CANTOR_OPT_INT:
        return "N";
    case CANTOR_OPT_SIZE:
        return "SIZE";
    case CANTOR_OPT_DURATION:
        return "DURATION";
    case CANTOR_OPT_PATH:
        return "PATH";
    default:
        return "VALUE";
    }
}

/* Default and range as one short phrase, e.g. "default 2s, 100ms..1h". */
static enum cantor_err append_default_range(struct cantor_buf *out, const struct cantor_opt *opt)
{
    char lo[32], hi[32];
    enum cantor_err err;

    err = cantor_buf_printf(out, "default %s%s%s", opt->def[0] ? "`" : "", opt->def[0] ? opt->def : "empty",
                            opt->def[0] ? "`" : "");
    if (!err &&
        (opt->type == CANTOR_OPT_INT || opt->type == CANTOR_OPT_SIZE || opt->type == CANTOR_OPT_DURATION)) {
        format_bound(opt, opt->min, lo, sizeof(lo));
        format_bound(opt, opt->max, hi, sizeof(hi));
        err = cantor_buf_printf(out, ", range %s..%s", lo, hi);
    }
    return err;
}

enum cantor_err cantor_config_write_help(struct cantor_buf *out)
{
    const char *group = NULL;
    struct cantor_buf line, desc;
    enum cantor_err err;

    cantor_buf_init(&line, 1024);
    cantor_buf_init(&desc, 4096);
    err = cantor_buf_append_str(
        out, "Usage: cantord [OPTION]...\n"
             "Follow an Ethereum chain over JSON-RPC, store every block as a canonical state delta and\n"
             "serve it with proofs over HTTP.\n\n"
             "Actions:\n"
             "  -h, --help                  print this help and exit\n"
             "  -V, --version               print the version and exit\n"
             "  --check-config              parse and validate the configuration, print it; exit 0 or 1\n"
             "  --dump-config               print the effective configuration in config-file form\n"
             "  --gen-docs                  print docs/configuration.md (generated from the option table)\n"
             "  --gen-conf                  print the sample configs/cantord.conf\n"
             "  --set NAME=VALUE            set any option below by its config-file name\n");
    for (size_t i = 0; !err && i < cantor_config_table_len; i++) {
        const struct cantor_opt *opt = &cantor_config_table[i];

        if (!group || strcmp(group, opt->group) != 0) {
            group = opt->group;
            err = cantor_buf_printf(out, "\n%s:\n", group);
        }
        cantor_buf_reset(&line);
        cantor_buf_reset(&desc);
        if (!err && opt->flag)
            err = cantor_buf_printf(&line, "  %s", opt->flag);
        else if (!err)
            err = cantor_buf_printf(&line, "  --set %s=", opt->name);
        if (!err && opt->type == CANTOR_OPT_ENUM) {
            err = cantor_buf_append_str(&line, opt->flag ? " " : "");
            if (!err)
                err = append_choices(&line, opt, "|");
        } else if (!err && opt->type != CANTOR_OPT_BOOL) {
            err = cantor_buf_printf(&line, "%s%s", opt->flag ? " " : "", metavar(opt));
        } else if (!err && !opt->flag) {
            err = cantor_buf_append_str(&line, "BOOL");
        }
        if (!err)
            err = cantor_buf_printf(&desc, "%s (", opt->help);
        if (!err)
            err = append_default_range(&desc, opt);
        if (!err)
            err = cantor_buf_append_str(&desc, opt->reloadable ? "; reloadable)" : ")");
        if (err)
            break;
        if (line.len + 2 > HELP_COL)
            err = cantor_buf_printf(out, "%s\n%*s", (char *)line.data, HELP_COL, "");
        else
            err = cantor_buf_printf(out, "%-*s", HELP_COL, (char *)line.data);
        if (!err)
            err = append_wrapped(out, (char *)desc.data, "                              ", HELP_COL);
        if (!err)
            err = cantor_buf_append_byte(out, '\n');
    }
    if (!err)
        err = cantor_buf_append_str(
            out, "\nSizes take K, M, G, T suffixes (powers of 1024); durations need a unit "
                 "(ms, s, m, h).\nCommand-line options override the config file. "
                 "SIGHUP reloads the file and applies reloadable options.\n");
    cantor_buf_release(&line);
    cantor_buf_release(&desc);
    return err;
}

enum cantor_err cantor_config_write_docs(struct cantor_buf *out)
{
    const char *group = NULL;
    enum cantor_err err;

    err = cantor_buf_append_str(
        out,
        "# cantord configuration\n\n"
        "<!-- Generated by `cantord --gen-docs` from daemon/config_table.c. Do not edit by hand:\n"
        "     the config unit test fails when this file and the table disagree. -->\n\n"
        "cantord reads the file named by `--config FILE` (the systemd unit passes\n"
        "`/etc/cantor/cantord.conf`). Each line is `key = value`; `#` starts a comment at the start of a\n"
        "line or after whitespace; a value may be put in double quotes (with `\\\"` and `\\\\` escapes) to\n"
        "keep a `#` or surrounding spaces. Unknown keys, repeated keys and values out of range are errors\n"
        "reported as `file:line: message`.\n\n"
        "Precedence: built-in defaults, then the config file, then command-line flags (`--data-dir DIR`\n"
        "or `--data-dir=DIR`; any option can be set with `--set name=value`).\n\n"
        "Types: **size** is a byte count with an optional `K`, `M`, `G` or `T` suffix (powers of 1024);\n"
        "**duration** is a number with a unit `ms`, `s`, `m` or `h` (bare `0` is allowed); **bool** is\n"
        "`true`/`false` (also `yes`/`no`, `on`/`off`, `1`/`0`); an empty **path** means not set.\n\n"
        "Reload: `systemctl reload cantord` (SIGHUP) reads the file again and applies the options marked\n"
        "reloadable, logging each change. Changes to other options are logged as warnings and ignored\n"
        "until the next restart. A file that does not parse is rejected as a whole and the running\n"
        "configuration stays.\n\n"
        "`cantord --check-config` validates the configuration and prints the effective values;\n"
        "`cantord --dump-config` prints them in config-file form.\n");
    for (size_t i = 0; !err && i < cantor_config_table_len; i++) {
        const struct cantor_opt *opt = &cantor_config_table[i];

        if (!group || strcmp(group, opt->group) != 0) {
            group = opt->group;
            err = cantor_buf_printf(out,
                                    "\n## %s\n\n| option | flag | type | default | range | reload | "
                                    "description |\n|---|---|---|---|---|---|---|\n",
                                    group);
        }
        if (!err)
            err = cantor_buf_printf(out, "| `%s` | %s%s%s | ", opt->name, opt->flag ? "`" : "",
                                    opt->flag ? opt->flag : "", opt->flag ? "`" : "");
        if (!err && opt->type == CANTOR_OPT_ENUM)
            err = append_choices(out, opt, ", ");
        else if (!err)
            err = cantor_buf_append_str(out, type_name(opt));
        if (!err)
            err = cantor_buf_printf(out, " | %s%s%s | ", opt->def[0] ? "`" : "",
                                    opt->def[0] ? opt->def : "(empty)", opt->def[0] ? "`" : "");
        if (!err && (opt->type == CANTOR_OPT_INT || opt->type == CANTOR_OPT_SIZE ||
                     opt->type == CANTOR_OPT_DURATION)) {
            char lo[32], hi[32];
            format_bound(opt, opt->min, lo, sizeof(lo));
            format_bound(opt, opt->max, hi, sizeof(hi));
            err = cantor_buf_printf(out, "%s..%s", lo, hi);
        }
        if (!err)
            err = cantor_buf_printf(out, " | %s | %s%s |\n", opt->reloadable ? "yes" : "no", opt->help,
                                    opt->cmdline_only ? " Command line only." : "");
    }
    return err;
}

enum cantor_err cantor_config_write_conf(const struct cantor_config *cfg, struct cantor_buf *out)
{
    const char *group = NULL;
    enum cantor_err err;

    if (cfg)
        err = cantor_buf_append_str(out, "# cantord effective configuration (cantord --dump-config)\n");
    else
        err = cantor_buf_append_str(
            out,
            "# cantord configuration file.\n"
            "# Generated by `cantord --gen-conf` from daemon/config_table.c; see docs/configuration.md.\n"
            "# Syntax: `key = value`, `#` comments. Every option is listed with its default, commented\n"
            "# out. Command-line flags override this file; SIGHUP reloads the options marked reloadable.\n");
    for (size_t i = 0; !err && i < cantor_config_table_len; i++) {
        const struct cantor_opt *opt = &cantor_config_table[i];

        if (opt->cmdline_only)
            continue;
        if (!group || strcmp(group, opt->group) != 0) {
            group = opt->group;
            err = cantor_buf_printf(out, "\n# ---- %s ----\n", group);
        }
        if (err)
            break;
        if (cfg) {
            err = cantor_buf_printf(out, "%s = ", opt->name);
            if (!err)
                err = cantor_config_format_value(cfg, opt, out);
            if (!err)
                err = cantor_buf_append_byte(out, '\n');
            continue;
        }
        err = cantor_buf_append_str(out, "\n# ");
        if (!err)
            err = append_wrapped(out, opt->help, "# ", 2);
        if (!err)
            err = cantor_buf_printf(out, "\n# Type: %s", type_name(opt));
        if (!err && opt->type == CANTOR_OPT_ENUM) {
            err = cantor_buf_append_str(out, " (");
            if (!err)
                err = append_choices(out, opt, ", ");
            if (!err)
                err = cantor_buf_append_byte(out, ')');
        }
        if (!err && (opt->type == CANTOR_OPT_INT || opt->type == CANTOR_OPT_SIZE ||
                     opt->type == CANTOR_OPT_DURATION)) {
            char lo[32], hi[32];
            format_bound(opt, opt->min, lo, sizeof(lo));
            format_bound(opt, opt->max, hi, sizeof(hi));
            err = cantor_buf_printf(out, ", range %s..%s", lo, hi);
        }
        if (!err)
            err = cantor_buf_printf(out, ". %s.\n#%s = %s\n",
                                    opt->reloadable ? "Reloadable" : "Needs a restart", opt->name,
                                    opt->def[0] ? opt->def : "\"\"");
    }
    return err;
}
