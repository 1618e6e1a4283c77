/*
 * config.h - cantord's configuration: one table of options (config_table.c) drives the config-file
 * parser, the command-line flags, validation, SIGHUP reload, --help, --dump-config and the generated
 * docs/configuration.md and configs/cantord.conf (after redis' config table).
 *
 * Memory: a struct cantor_config owns its strings (malloc'ed, freed by cantor_config_free). The
 * table and struct cantor_cmdline only point into static data and argv; they own nothing.
 * Error messages are written into a caller buffer as "file:line: message" (or "--flag: message").
 */
#ifndef CANTOR_DAEMON_CONFIG_H
#define CANTOR_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define CANTOR_CONFIG_MAX_FILE      (1024 * 1024) /* bytes of a config file */
#define CANTOR_CONFIG_MAX_LINE      4096          /* bytes of one line */
#define CANTOR_CONFIG_MAX_OVERRIDES 64            /* command-line overrides */
#define CANTOR_CONFIG_ERRLEN        512           /* a good size for error buffers */
#define CANTOR_DEFAULT_DATA_DIR     "./cantord-data"
#define CANTOR_DEFAULT_LISTEN       "127.0.0.1:7545"

enum cantor_opt_type {
    CANTOR_OPT_STRING,   /* char *, may be empty */
    CANTOR_OPT_INT,      /* int64_t */
    CANTOR_OPT_BOOL,     /* bool: true/false, yes/no, on/off, 1/0 */
    CANTOR_OPT_SIZE,     /* uint64_t bytes; suffixes K, M, G, T (powers of 1024) */
    CANTOR_OPT_DURATION, /* uint64_t milliseconds; units ms, s, m, h */
    CANTOR_OPT_ENUM,     /* int, index into choices */
    CANTOR_OPT_PATH,     /* char *, empty = not set */
};

enum cantor_start_block_kind {
    CANTOR_START_GENESIS,
    CANTOR_START_HEAD,
    CANTOR_START_NUMBER,
};

/* The effective configuration. Field names are the option names. */
struct cantor_config {
    /* general */
    char *config;
    char *data_dir;
    int log_level; /* enum cantor_log_level */
    bool dev;
    char *key_dir;
    int64_t background_nice;
    /* chain following */
    char *eth_rpc;
    char *start_block;
    int64_t confirmations;
    uint64_t poll_interval; /* ms */
    int64_t batch_size;
    int64_t checkpoint_interval;
    /* upstream node */
    uint64_t rpc_timeout; /* ms */
    int64_t rpc_max_retries;
    uint64_t rpc_backoff_initial; /* ms */
    uint64_t rpc_backoff_max;     /* ms */
    uint64_t rpc_max_response_size;
    char *rpc_auth_header_file;
    char *rpc_jwt_secret_file;
    /* storage */
    uint64_t store_cache_size;
    int store_compression; /* enum cantor_store_compression */
    int64_t store_retention;
    bool store_sync;
    int64_t compress_train_blocks;
    int64_t compress_blocks_per_chunk;
    int64_t compress_pack_depth;
    /* http */
    char *listen;
    uint64_t http_max_body;
    int64_t http_max_connections;
    uint64_t http_timeout; /* ms */
    int64_t http_threads;  /* 0 = auto */
    int64_t http_workers;
    char *admin_token_file;
    bool public_reads;
    int64_t readyz_max_lag;
};

enum cantor_store_compression {
    CANTOR_STORE_COMPRESSION_NONE,
    CANTOR_STORE_COMPRESSION_LZ4,
    CANTOR_STORE_COMPRESSION_ZSTD,
    CANTOR_STORE_COMPRESSION_SNAPPY,
};

/* One row of the option table. Defaults are text and go through the same parser as user input. */
struct cantor_opt {
    const char *name;    /* snake_case key in the config file */
    const char *flag;    /* "--kebab-case" command-line flag, or NULL (then only --set name=value) */
    const char *metavar; /* shown in --help for string/path options, or NULL */
    const char *group;   /* section in --help and the docs */
    enum cantor_opt_type type;
    size_t offset; /* of the field in struct cantor_config */
    const char *def;
    int64_t min, max;           /* bounds for int, size and duration (bytes, ms) */
    const char *const *choices; /* NULL-terminated, for enums */
    bool reloadable;            /* applied on SIGHUP; otherwise a change needs a restart */
    bool cmdline_only;          /* not accepted in the config file */
    /* Extra check for strings; writes a message without the file:line prefix. */
    enum cantor_err (*validate)(const char *value, char *errbuf, size_t errlen);
    const char *help;
};

extern const struct cantor_opt cantor_config_table[];
extern const size_t cantor_config_table_len;

/* Look an option up by name (snake_case) or flag ("--kebab-case"); NULL when unknown. */
const struct cantor_opt *cantor_config_find(const char *name);
const struct cantor_opt *cantor_config_find_flag(const char *flag);

enum cantor_cmd_action {
    CANTOR_ACTION_RUN,
    CANTOR_ACTION_HELP,
    CANTOR_ACTION_VERSION,
    CANTOR_ACTION_CHECK,    /* --check-config */
    CANTOR_ACTION_DUMP,     /* --dump-config */
    CANTOR_ACTION_GEN_DOCS, /* --gen-docs */
    CANTOR_ACTION_GEN_CONF, /* --gen-conf */
};

struct cantor_override {
    const struct cantor_opt *opt;
    const char *value; /* points into argv */
    const char *flag;  /* as typed, for error messages */
};

/* The parsed command line; kept for the process lifetime so a reload re-applies the overrides. */
struct cantor_cmdline {
    enum cantor_cmd_action action;
    const char *config_path; /* NULL: no config file */
    size_t n_overrides;
    struct cantor_override overrides[CANTOR_CONFIG_MAX_OVERRIDES];
};

/*
 * Parse argv (argv[0] is the program). Flags take "--flag VALUE" or "--flag=VALUE"; bool flags may
 * stand alone. "--set name=value" sets any option. Returns CANTOR_ERR_INVALID on a usage error
 * (unknown flag, missing value); values are only checked later, by cantor_config_load.
 */
enum cantor_err cantor_config_parse_cmdline(int argc, char **argv, struct cantor_cmdline *ret_cmdline,
                                            char *errbuf, size_t errlen);

/* A config holding every default. */
enum cantor_err cantor_config_new(struct cantor_config **ret_cfg);
void cantor_config_free(struct cantor_config *cfg);

/* Set one option from text (value checked against type and bounds). */
enum cantor_err cantor_config_set(struct cantor_config *cfg, const struct cantor_opt *opt, const char *value,
                                  char *errbuf, size_t errlen);

/* Parse config-file text; `source` names it in "source:line: message" errors. */
enum cantor_err cantor_config_parse_text(struct cantor_config *cfg, const char *source, const char *text,
                                         size_t len, char *errbuf, size_t errlen);
enum cantor_err cantor_config_parse_file(struct cantor_config *cfg, const char *path, char *errbuf,
                                         size_t errlen);

/* Checks that involve more than one option (e.g. rpc_backoff_initial <= rpc_backoff_max). */
enum cantor_err cantor_config_validate(const struct cantor_config *cfg, char *errbuf, size_t errlen);

/* Defaults, then the config file named on the command line, then the overrides, then validation. */
enum cantor_err cantor_config_load(const struct cantor_cmdline *cmdline, struct cantor_config **ret_cfg,
                                   char *errbuf, size_t errlen);

struct cantor_config_reload_result {
    unsigned applied; /* reloadable options whose value changed and was taken over */
    unsigned ignored; /* non-reloadable options whose value changed: kept, warned about */
};

/*
 * SIGHUP: load the configuration again and take over the reloadable options that changed, logging
 * each change; changes to other options are logged as warnings and ignored. When the new
 * configuration does not load or validate, cfg is unchanged and the error is returned.
 */
enum cantor_err cantor_config_reload(struct cantor_config *cfg, const struct cantor_cmdline *cmdline,
                                     struct cantor_config_reload_result *ret_result, char *errbuf,
                                     size_t errlen);

/* The value of an option as config-file text (sizes and durations with their largest exact unit). */
enum cantor_err cantor_config_format_value(const struct cantor_config *cfg, const struct cantor_opt *opt,
                                           struct cantor_buf *out);
bool cantor_config_equal(const struct cantor_config *a, const struct cantor_config *b,
                         const struct cantor_opt *opt);

/* start_block as a kind and a number (the number only for CANTOR_START_NUMBER). */
enum cantor_err cantor_config_start_block(const struct cantor_config *cfg,
                                          enum cantor_start_block_kind *ret_kind, uint64_t *ret_number);

/* Generated text, appended to out. */
enum cantor_err cantor_config_write_help(struct cantor_buf *out);
enum cantor_err cantor_config_write_docs(struct cantor_buf *out);
/* cfg == NULL: the commented sample file (configs/cantord.conf); else the effective configuration. */
enum cantor_err cantor_config_write_conf(const struct cantor_config *cfg, struct cantor_buf *out);

/* Parsers for the option types, exposed for tests and other modules. */
enum cantor_err cantor_config_parse_size(const char *s, uint64_t *ret_bytes);
enum cantor_err cantor_config_parse_duration(const char *s, uint64_t *ret_ms);
enum cantor_err cantor_config_parse_bool(const char *s, bool *ret_value);

#endif
