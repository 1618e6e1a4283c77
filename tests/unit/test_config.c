/*
 * test_config.c - the option table and everything generated from it: defaults, bounds, size and
 * duration suffixes, file:line errors, command-line overrides, SIGHUP reload semantics, and that
 * docs/configuration.md and configs/cantord.conf in the repo are exactly what the table generates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "daemon/config.h"
#include "testutil.h"

static char errbuf[CANTOR_CONFIG_ERRLEN];

static struct cantor_config *defaults(void)
{
    struct cantor_config *cfg = NULL;

    ck_assert_int_eq(cantor_config_new(&cfg), CANTOR_OK);
    return cfg;
}

/* Parse text as file "t.conf"; returns the error and leaves the message in errbuf. */
static enum cantor_err parse(struct cantor_config *cfg, const char *text)
{
    errbuf[0] = '\0';
    return cantor_config_parse_text(cfg, "t.conf", text, strlen(text), errbuf, sizeof(errbuf));
}

static char *format(const struct cantor_config *cfg, const char *name)
{
    static char out[CANTOR_CONFIG_MAX_LINE];
    struct cantor_buf b;

    cantor_buf_init(&b, sizeof(out) - 1);
    ck_assert_int_eq(cantor_config_format_value(cfg, cantor_config_find(name), &b), CANTOR_OK);
    memcpy(out, b.data, b.len + 1);
    cantor_buf_release(&b);
    return out;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
}

START_TEST(test_defaults_parse_and_print_back)
{
    struct cantor_config *cfg = defaults();

    ck_assert_uint_ge(cantor_config_table_len, 28);
    for (size_t i = 0; i < cantor_config_table_len; i++) {
        const struct cantor_opt *opt = &cantor_config_table[i];

        ck_assert_msg(cantor_config_set(cfg, opt, opt->def, errbuf, sizeof(errbuf)) == CANTOR_OK, "%s",
                      errbuf);
        /* Defaults are written canonically, so docs show exactly what --dump-config prints. */
        if (opt->def[0])
            ck_assert_str_eq(format(cfg, opt->name), opt->def);
        ck_assert_ptr_eq(cantor_config_find(opt->name), opt);
        if (opt->flag)
            ck_assert_ptr_eq(cantor_config_find_flag(opt->flag), opt);
        ck_assert_msg(opt->help && strlen(opt->help) > 10, "%s has no help", opt->name);
    }
    ck_assert_str_eq(cfg->data_dir, "./cantord-data");
    ck_assert_str_eq(cfg->listen, "127.0.0.1:7545");
    ck_assert_int_eq(cfg->log_level, CANTOR_LOG_INFO);
    ck_assert_int_eq(cfg->confirmations, 6);
    ck_assert_uint_eq(cfg->poll_interval, 2000);
    ck_assert_uint_eq(cfg->rpc_backoff_initial, 250);
    ck_assert_uint_eq(cfg->rpc_max_response_size, 256u << 20);
    ck_assert_uint_eq(cfg->http_max_body, 1u << 20);
    ck_assert_int_eq(cfg->store_compression, CANTOR_STORE_COMPRESSION_LZ4);
    ck_assert(cfg->store_sync && cfg->public_reads && !cfg->dev);
    ck_assert_int_eq(cantor_config_validate(cfg, errbuf, sizeof(errbuf)), CANTOR_OK);
    cantor_config_free(cfg);
    cantor_config_free(NULL);
}
END_TEST

START_TEST(test_bounds)
{
    struct cantor_config *cfg = defaults();
    char v[64];
    int checked = 0;

    for (size_t i = 0; i < cantor_config_table_len; i++) {
        const struct cantor_opt *opt = &cantor_config_table[i];
        const char *unit = opt->type == CANTOR_OPT_DURATION ? "ms" : "";

        if (opt->type != CANTOR_OPT_INT && opt->type != CANTOR_OPT_SIZE && opt->type != CANTOR_OPT_DURATION)
            continue;
        ck_assert_msg(opt->min <= opt->max, "%s", opt->name);
        snprintf(v, sizeof(v), "%lld%s", (long long)opt->min, unit);
        ck_assert_msg(cantor_config_set(cfg, opt, v, errbuf, sizeof(errbuf)) == CANTOR_OK, "%s", errbuf);
        snprintf(v, sizeof(v), "%lld%s", (long long)opt->max, unit);
        ck_assert_msg(cantor_config_set(cfg, opt, v, errbuf, sizeof(errbuf)) == CANTOR_OK, "%s", errbuf);
        snprintf(v, sizeof(v), "%lld%s", (long long)opt->max + 1, unit);
        ck_assert_int_eq(cantor_config_set(cfg, opt, v, errbuf, sizeof(errbuf)), CANTOR_ERR_INVALID);
        ck_assert_msg(strstr(errbuf, "out of range") && strstr(errbuf, opt->name), "%s", errbuf);
        if (opt->min > 0) {
            snprintf(v, sizeof(v), "%lld%s", (long long)opt->min - 1, unit);
            ck_assert_int_eq(cantor_config_set(cfg, opt, v, errbuf, sizeof(errbuf)), CANTOR_ERR_INVALID);
        }
        checked++;
    }
    ck_assert_int_eq(checked, 21);
    ck_assert_int_eq(
        cantor_config_set(cfg, cantor_config_find("confirmations"), "-1", errbuf, sizeof(errbuf)),
        CANTOR_ERR_INVALID);
    ck_assert_str_eq(errbuf, "confirmations: -1 is out of range 0..1024");
    ck_assert_int_eq(
        cantor_config_set(cfg, cantor_config_find("poll_interval"), "2h", errbuf, sizeof(errbuf)),
        CANTOR_ERR_INVALID);
    ck_assert_str_eq(errbuf, "poll_interval: 2h is out of range 100ms..1h");
    ck_assert_int_eq(
        cantor_config_set(cfg, cantor_config_find("http_max_body"), "65M", errbuf, sizeof(errbuf)),
        CANTOR_ERR_INVALID);
    ck_assert_str_eq(errbuf, "http_max_body: 65M is out of range 1K..64M");
    cantor_config_free(cfg);
}
END_TEST

START_TEST(test_suffixes)
{
    uint64_t v;
    bool b;

    ck_assert_int_eq(cantor_config_parse_size("0", &v), CANTOR_OK);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(cantor_config_parse_size("1K", &v), CANTOR_OK);
    ck_assert_uint_eq(v, 1024);
    ck_assert_int_eq(cantor_config_parse_size("64m", &v), CANTOR_OK);
    ck_assert_uint_eq(v, 64u << 20);
    ck_assert_int_eq(cantor_config_parse_size("3G", &v), CANTOR_OK);
    ck_assert_uint_eq(v, UINT64_C(3) << 30);
    ck_assert_int_eq(cantor_config_parse_size("2T", &v), CANTOR_OK);
    ck_assert_uint_eq(v, UINT64_C(2) << 40);
    ck_assert_int_eq(cantor_config_parse_size("512KB", &v), CANTOR_OK);
    ck_assert_uint_eq(v, 512u << 10);
    ck_assert_int_eq(cantor_config_parse_size("4096", &v), CANTOR_OK);
    ck_assert_uint_eq(v, 4096);
    ck_assert_int_eq(cantor_config_parse_size("", &v), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_config_parse_size("K", &v), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_config_parse_size("1.5M", &v), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_config_parse_size("-1", &v), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_config_parse_size(" 1", &v), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_config_parse_size("1X", &v), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_config_parse_size("1MM", &v), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_config_parse_size("17179869184G", &v), CANTOR_ERR_OVERFLOW);
    ck_assert_int_eq(cantor_config_parse_size("99999999999999999999", &v), CANTOR_ERR_OVERFLOW);

    ck_assert_int_eq(cantor_config_parse_duration("250ms", &v), CANTOR_OK);
    ck_assert_uint_eq(v, 250);
    ck_assert_int_eq(cantor_config_parse_duration("2s", &v), CANTOR_OK);
    ck_assert_uint_eq(v, 2000);
    ck_assert_int_eq(cantor_config_parse_duration("5m", &v), CANTOR_OK);
    ck_assert_uint_eq(v, 300000);
    ck_assert_int_eq(cantor_config_parse_duration("1h", &v), CANTOR_OK);
    ck_assert_uint_eq(v, 3600000);
    ck_assert_int_eq(cantor_config_parse_duration("0", &v), CANTOR_OK);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(cantor_config_parse_duration("5", &v), CANTOR_ERR_INVALID); /* unit required */
    ck_assert_int_eq(cantor_config_parse_duration("1d", &v), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_config_parse_duration("1 s", &v), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_config_parse_duration("s", &v), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_config_parse_duration("5000000000000000h", &v), CANTOR_ERR_OVERFLOW);

    ck_assert_int_eq(cantor_config_parse_bool("yes", &b), CANTOR_OK);
    ck_assert(b);
    ck_assert_int_eq(cantor_config_parse_bool("off", &b), CANTOR_OK);
    ck_assert(!b);
    ck_assert_int_eq(cantor_config_parse_bool("True", &b), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_config_parse_bool("", &b), CANTOR_ERR_INVALID);
}
END_TEST

START_TEST(test_file_syntax)
{
    struct cantor_config *cfg = defaults();
    const char *text = "# cantord test\n"
                       "\n"
                       "   log_level=debug   # inline comment\r\n"
                       "eth_rpc = http://127.0.0.1:8545/#frag\n"
                       "\tdata_dir = \"/var/lib/has # hash \"  # kept inside quotes\n"
                       "admin_token_file = \"a\\\"b\\\\c\"\n"
                       "key_dir =\n"
                       "start_block = 17000000\n"
                       "store_compression = zstd\n"
                       "store_sync = off\n"
                       "listen = [::1]:8000\n"
                       "rpc_max_response_size = 512M"; /* no final newline */
    enum cantor_start_block_kind kind;
    uint64_t n;

    ck_assert_msg(parse(cfg, text) == CANTOR_OK, "%s", errbuf);
    ck_assert_int_eq(cfg->log_level, CANTOR_LOG_DEBUG);
    ck_assert_str_eq(cfg->eth_rpc, "http://127.0.0.1:8545/#frag"); /* '#' only comments after a blank */
    ck_assert_str_eq(cfg->data_dir, "/var/lib/has # hash ");
    ck_assert_str_eq(cfg->admin_token_file, "a\"b\\c");
    ck_assert_str_eq(cfg->key_dir, "");
    ck_assert_int_eq(cfg->store_compression, CANTOR_STORE_COMPRESSION_ZSTD);
    ck_assert(!cfg->store_sync);
    ck_assert_str_eq(cfg->listen, "[::1]:8000");
    ck_assert_uint_eq(cfg->rpc_max_response_size, 512u << 20);
    ck_assert_int_eq(cantor_config_start_block(cfg, &kind, &n), CANTOR_OK);
    ck_assert_int_eq(kind, CANTOR_START_NUMBER);
    ck_assert_uint_eq(n, 17000000);
    /* the quoted forms print back so that they parse to the same value */
    ck_assert_str_eq(format(cfg, "data_dir"), "\"/var/lib/has # hash \"");
    ck_assert_str_eq(format(cfg, "admin_token_file"), "a\"b\\c");
    cantor_config_free(cfg);

    cfg = defaults();
    ck_assert_int_eq(parse(cfg, "start_block = genesis\n"), CANTOR_OK);
    ck_assert_int_eq(cantor_config_start_block(cfg, &kind, &n), CANTOR_OK);
    ck_assert_int_eq(kind, CANTOR_START_GENESIS);
    ck_assert_int_eq(parse(cfg, ""), CANTOR_OK);
    cantor_config_free(cfg);
}
END_TEST

START_TEST(test_bad_lines)
{
    static const struct {
        const char *text;
        const char *msg;
    } cases[] = {
        {"log_level = info\n\nnope = 1\n", "t.conf:3: unknown option 'nope'"},
        {"data-dir = /x\n", "t.conf:1: unknown option 'data-dir' (did you mean 'data_dir'?)"},
        {"# c\nlog_level info\n", "t.conf:2: expected 'key = value'"},
        {"= 3\n", "t.conf:1: expected 'key = value'"},
        {"confirmations = 2000\n", "t.conf:1: confirmations: 2000 is out of range 0..1024"},
        {"confirmations = 6x\n", "t.conf:1: confirmations: expected an integer, got '6x'"},
        {"poll_interval = 5\n",
         "t.conf:1: poll_interval: expected a duration with a unit (ms, s, m, h), got '5'"},
        {"http_max_body = lots\n",
         "t.conf:1: http_max_body: expected a size (bytes or with K, M, G, T), got 'lots'"},
        {"batch_size = 4\n\nbatch_size = 8\n", "t.conf:3: 'batch_size' is already set on line 1"},
        {"config = /etc/x.conf\n", "t.conf:1: 'config' can only be given on the command line (--config)"},
        {"log_level = loud\n", "t.conf:1: log_level: expected one of error, warn, info, debug, got 'loud'"},
        {"store_sync = maybe\n", "t.conf:1: store_sync: expected true or false, got 'maybe'"},
        {"data_dir = \"/x\n", "t.conf:1: unterminated quoted value"},
        {"data_dir = \"/x\" y\n", "t.conf:1: unexpected text after the quoted value"},
        {"data_dir = \"\\n\"\n", "t.conf:1: only \\\" and \\\\ escapes are allowed in quoted values"},
        {"listen = 127.0.0.1\n", "t.conf:1: listen: expected ADDR:PORT, got '127.0.0.1'"},
        {"listen = 127.0.0.1:70000\n", "t.conf:1: listen: port must be 1..65535, got '70000'"},
        {"listen = ::1:80\n", "t.conf:1: listen: IPv6 addresses go in brackets: [::1]:7545"},
        {"eth_rpc = ws://node\n",
         "t.conf:1: eth_rpc: expected an http:// or https:// URL (or nothing), got 'ws://node'"},
        {"start_block = latest\n",
         "t.conf:1: start_block: expected a block number, 'genesis' or 'head', got 'latest'"},
    };
    struct cantor_config *cfg;
    char *longline;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cfg = defaults();
        ck_assert_msg(parse(cfg, cases[i].text) != CANTOR_OK, "case %zu parsed", i);
        ck_assert_str_eq(errbuf, cases[i].msg);
        cantor_config_free(cfg);
    }
    /* size limits: a line over the limit and a NUL byte */
    longline = malloc(CANTOR_CONFIG_MAX_LINE + 32);
    ck_assert_ptr_nonnull(longline);
    memcpy(longline, "\ndata_dir = ", 12);
    memset(longline + 12, 'a', CANTOR_CONFIG_MAX_LINE + 10);
    longline[CANTOR_CONFIG_MAX_LINE + 22] = '\0';
    cfg = defaults();
    ck_assert_int_eq(parse(cfg, longline), CANTOR_ERR_TOO_LARGE);
    ck_assert_str_eq(errbuf, "t.conf:2: line longer than 4095 bytes");
    ck_assert_int_eq(
        cantor_config_parse_text(cfg, "n.conf", "dev = true\nx\0y = 1\n", 18, errbuf, sizeof(errbuf)),
        CANTOR_ERR_INVALID);
    ck_assert_str_eq(errbuf, "n.conf:2: NUL byte in line");
    free(longline);
    cantor_config_free(cfg);
}
END_TEST

START_TEST(test_files_and_cmdline)
{
    char dir[] = "/tmp/cantor-config-XXXXXX", path[256], bad[256];
    char *argv[] = {"cantord",     "--config", path,    "--listen=127.0.0.1:9999", "--dev",
                    "--log-level", "warn",     "--set", "batch_size=32",           "--set=store_sync=no",
                    NULL};
    struct cantor_cmdline cl;
    struct cantor_config *cfg = NULL;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/cantord.conf", dir);
    snprintf(bad, sizeof(bad), "%s/missing.conf", dir);
    write_file(path, "log_level = debug\nlisten = 127.0.0.1:1111\nconfirmations = 2\nbatch_size = 8\n");

    ck_assert_int_eq(cantor_config_parse_cmdline(10, argv, &cl, errbuf, sizeof(errbuf)), CANTOR_OK);
    ck_assert_int_eq(cl.action, CANTOR_ACTION_RUN);
    ck_assert_str_eq(cl.config_path, path);
    ck_assert_uint_eq(cl.n_overrides, 5);
    ck_assert_msg(cantor_config_load(&cl, &cfg, errbuf, sizeof(errbuf)) == CANTOR_OK, "%s", errbuf);
    ck_assert_str_eq(cfg->config, path);
    ck_assert_str_eq(cfg->listen, "127.0.0.1:9999"); /* flag beats file */
    ck_assert_int_eq(cfg->log_level, CANTOR_LOG_WARN);
    ck_assert_int_eq(cfg->confirmations, 2); /* file beats default */
    ck_assert_int_eq(cfg->batch_size, 32);
    ck_assert(cfg->dev && !cfg->store_sync);
    cantor_config_free(cfg);
    cfg = NULL;

    /* a bad override value is reported against the command line */
    argv[4] = "--confirmations=99999";
    ck_assert_int_eq(cantor_config_parse_cmdline(5, argv, &cl, errbuf, sizeof(errbuf)), CANTOR_OK);
    ck_assert_int_eq(cantor_config_load(&cl, &cfg, errbuf, sizeof(errbuf)), CANTOR_ERR_INVALID);
    ck_assert_str_eq(errbuf, "command line: confirmations: 99999 is out of range 0..1024");
    ck_assert_ptr_null(cfg);

    /* missing file names the path */
    argv[2] = bad;
    ck_assert_int_eq(cantor_config_parse_cmdline(3, argv, &cl, errbuf, sizeof(errbuf)), CANTOR_OK);
    ck_assert_int_eq(cantor_config_load(&cl, &cfg, errbuf, sizeof(errbuf)), CANTOR_ERR_IO);
    ck_assert_msg(strncmp(errbuf, bad, strlen(bad)) == 0 && strstr(errbuf, "No such file"), "%s", errbuf);
    argv[2] = path;

    /* cross-option validation */
    write_file(path, "rpc_backoff_initial = 10s\nrpc_backoff_max = 5s\n");
    ck_assert_int_eq(cantor_config_parse_cmdline(3, argv, &cl, errbuf, sizeof(errbuf)), CANTOR_OK);
    ck_assert_int_eq(cantor_config_load(&cl, &cfg, errbuf, sizeof(errbuf)), CANTOR_ERR_CONFIG);
    ck_assert_str_eq(errbuf, "rpc_backoff_initial must not exceed rpc_backoff_max");

    /* usage errors */
    {
        char *a1[] = {"cantord", "--no-such-flag"};
        char *a2[] = {"cantord", "--listen"};
        char *a3[] = {"cantord", "stray"};
        char *a4[] = {"cantord", "--set", "nope=1"};
        char *a5[] = {"cantord", "--set", "config=x"};
        char *a6[] = {"cantord", "--check-config", "--gen-docs"};
        char *a7[] = {"cantord", "--check-config", "--data-dir", "/d"};
        char *a8[] = {"cantord", "-V"};
        ck_assert_int_eq(cantor_config_parse_cmdline(2, a1, &cl, errbuf, sizeof(errbuf)), CANTOR_ERR_INVALID);
        ck_assert_str_eq(errbuf, "unknown option '--no-such-flag' (see --help)");
        ck_assert_int_eq(cantor_config_parse_cmdline(2, a2, &cl, errbuf, sizeof(errbuf)), CANTOR_ERR_INVALID);
        ck_assert_str_eq(errbuf, "--listen needs a value");
        ck_assert_int_eq(cantor_config_parse_cmdline(2, a3, &cl, errbuf, sizeof(errbuf)), CANTOR_ERR_INVALID);
        ck_assert_int_eq(cantor_config_parse_cmdline(3, a4, &cl, errbuf, sizeof(errbuf)), CANTOR_ERR_INVALID);
        ck_assert_str_eq(errbuf, "--set: unknown option 'nope'");
        ck_assert_int_eq(cantor_config_parse_cmdline(3, a5, &cl, errbuf, sizeof(errbuf)), CANTOR_ERR_INVALID);
        ck_assert_int_eq(cantor_config_parse_cmdline(3, a6, &cl, errbuf, sizeof(errbuf)), CANTOR_ERR_INVALID);
        ck_assert_int_eq(cantor_config_parse_cmdline(4, a7, &cl, errbuf, sizeof(errbuf)), CANTOR_OK);
        ck_assert_int_eq(cl.action, CANTOR_ACTION_CHECK);
        ck_assert_int_eq(cantor_config_parse_cmdline(2, a8, &cl, errbuf, sizeof(errbuf)), CANTOR_OK);
        ck_assert_int_eq(cl.action, CANTOR_ACTION_VERSION);
    }
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_reload)
{
    char dir[] = "/tmp/cantor-reload-XXXXXX", path[256];
    char *argv[] = {"cantord", "--config", path, "--set", "batch_size=50", NULL};
    struct cantor_config_reload_result res = {99, 99};
    struct cantor_cmdline cl;
    struct cantor_config *cfg = NULL;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/cantord.conf", dir);
    write_file(path, "log_level = info\npoll_interval = 2s\nlisten = 127.0.0.1:7000\nbatch_size = 4\n");
    ck_assert_int_eq(cantor_config_parse_cmdline(5, argv, &cl, errbuf, sizeof(errbuf)), CANTOR_OK);
    ck_assert_int_eq(cantor_config_load(&cl, &cfg, errbuf, sizeof(errbuf)), CANTOR_OK);

    /* nothing changed: nothing applied */
    ck_assert_int_eq(cantor_config_reload(cfg, &cl, &res, errbuf, sizeof(errbuf)), CANTOR_OK);
    ck_assert_uint_eq(res.applied, 0);
    ck_assert_uint_eq(res.ignored, 0);

    /* two reloadable changes apply, listen (not reloadable) is kept, batch_size stays overridden */
    write_file(path, "log_level = debug\npoll_interval = 500ms\nlisten = 127.0.0.1:7001\nbatch_size = 5\n"
                     "admin_token_file = /etc/cantor/admin.token\n");
    ck_assert_msg(cantor_config_reload(cfg, &cl, &res, errbuf, sizeof(errbuf)) == CANTOR_OK, "%s", errbuf);
    ck_assert_uint_eq(res.applied, 3);
    ck_assert_uint_eq(res.ignored, 1);
    ck_assert_int_eq(cfg->log_level, CANTOR_LOG_DEBUG);
    ck_assert_uint_eq(cfg->poll_interval, 500);
    ck_assert_str_eq(cfg->admin_token_file, "/etc/cantor/admin.token");
    ck_assert_str_eq(cfg->listen, "127.0.0.1:7000");
    ck_assert_int_eq(cfg->batch_size, 50);

    /* a broken file is rejected as a whole; the running config stays */
    write_file(path, "log_level = error\npoll_interval = 1x\n");
    ck_assert_int_eq(cantor_config_reload(cfg, &cl, &res, errbuf, sizeof(errbuf)), CANTOR_ERR_INVALID);
    ck_assert_msg(strstr(errbuf, "cantord.conf:2: poll_interval:") != NULL, "%s", errbuf);
    ck_assert_int_eq(cfg->log_level, CANTOR_LOG_DEBUG);
    ck_assert_uint_eq(cfg->poll_interval, 500);
    ck_assert_str_eq(cfg->admin_token_file, "/etc/cantor/admin.token");

    /* removing a line goes back to the default */
    write_file(path, "listen = 127.0.0.1:7000\n");
    ck_assert_int_eq(cantor_config_reload(cfg, &cl, &res, errbuf, sizeof(errbuf)), CANTOR_OK);
    ck_assert_int_eq(cfg->log_level, CANTOR_LOG_INFO);
    ck_assert_uint_eq(cfg->poll_interval, 2000);
    ck_assert_str_eq(cfg->admin_token_file, "");
    ck_assert_uint_eq(res.applied, 3);
    ck_assert_uint_eq(res.ignored, 0);
    cantor_config_free(cfg);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* The effective configuration written by --dump-config parses back to the same values. */
START_TEST(test_dump_round_trip)
{
    struct cantor_config *a = defaults(), *b = defaults();
    struct cantor_buf out;

    ck_assert_int_eq(parse(a, "data_dir = \" /odd # dir\"\nlog_level = warn\nrpc_timeout = 1500ms\n"
                              "store_cache_size = 3G\nstore_retention = 100000\npublic_reads = false\n"
                              "http_max_body = 1536\neth_rpc = https://node.example:8545\n"),
                     CANTOR_OK);
    cantor_buf_init(&out, 1 << 20);
    ck_assert_int_eq(cantor_config_write_conf(a, &out), CANTOR_OK);
    ck_assert_msg(parse(b, (char *)out.data) == CANTOR_OK, "%s\n%s", errbuf, (char *)out.data);
    for (size_t i = 0; i < cantor_config_table_len; i++)
        if (!cantor_config_table[i].cmdline_only)
            ck_assert_msg(cantor_config_equal(a, b, &cantor_config_table[i]), "%s",
                          cantor_config_table[i].name);
    ck_assert_str_eq(b->data_dir, " /odd # dir");
    ck_assert_str_eq(format(b, "rpc_timeout"), "1500ms");
    ck_assert_str_eq(format(b, "store_cache_size"), "3G");
    ck_assert_str_eq(format(b, "http_max_body"), "1536");
    cantor_buf_release(&out);
    cantor_config_free(a);
    cantor_config_free(b);
}
END_TEST

/* The sample file parses to the defaults both as shipped (all commented) and with every line enabled. */
START_TEST(test_sample_conf_parses)
{
    struct cantor_config *a = defaults(), *b = defaults();
    struct cantor_buf out, on;
    const char *p;
    unsigned enabled = 0;

    cantor_buf_init(&out, 1 << 20);
    cantor_buf_init(&on, 1 << 20);
    ck_assert_int_eq(cantor_config_write_conf(NULL, &out), CANTOR_OK);
    ck_assert_int_eq(parse(a, (char *)out.data), CANTOR_OK);
    for (p = (char *)out.data; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);
        if (p[0] == '#' && p[1] >= 'a' && p[1] <= 'z' && memchr(p, '=', n)) {
            p++, n--;
            enabled++;
        }
        ck_assert_int_eq(cantor_buf_append(&on, p, n), CANTOR_OK);
        p += n;
    }
    ck_assert_uint_eq(enabled, cantor_config_table_len - 1); /* all but the command-line-only config */
    ck_assert_msg(parse(b, (char *)on.data) == CANTOR_OK, "%s", errbuf);
    for (size_t i = 0; i < cantor_config_table_len; i++)
        ck_assert(cantor_config_equal(a, b, &cantor_config_table[i]));
    cantor_buf_release(&out);
    cantor_buf_release(&on);
    cantor_config_free(a);
    cantor_config_free(b);
}
END_TEST

static void check_repo_file(const char *rel, enum cantor_err (*gen)(struct cantor_buf *))
{
    const char *root = getenv("CANTOR_SOURCE_ROOT");
    char path[4096];
    struct cantor_buf want, have;

    ck_assert_msg(root != NULL, "CANTOR_SOURCE_ROOT is not set (run through meson test)");
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    cantor_buf_init(&want, 1 << 20);
    cantor_buf_init(&have, 1 << 20);
    ck_assert_int_eq(gen(&want), CANTOR_OK);
    ck_assert_msg(cantor_buf_read_file(&have, path) == CANTOR_OK, "cannot read %s", path);
    ck_assert_msg(have.len == want.len && memcmp(have.data, want.data, want.len) == 0,
                  "%s differs from what the option table generates: regenerate it with cantord %s", rel,
                  strstr(rel, ".md") ? "--gen-docs" : "--gen-conf");
    cantor_buf_release(&want);
    cantor_buf_release(&have);
}

static enum cantor_err gen_sample(struct cantor_buf *b)
{
    return cantor_config_write_conf(NULL, b);
}

START_TEST(test_generated_files_match_repo)
{
    struct cantor_buf help;

    check_repo_file("docs/configuration.md", cantor_config_write_docs);
    check_repo_file("configs/cantord.conf", gen_sample);
    cantor_buf_init(&help, 1 << 20);
    ck_assert_int_eq(cantor_config_write_help(&help), CANTOR_OK);
    for (size_t i = 0; i < cantor_config_table_len; i++) {
        const struct cantor_opt *opt = &cantor_config_table[i];
        ck_assert_msg(strstr((char *)help.data, opt->flag ? opt->flag : opt->name), "%s not in --help",
                      opt->name);
    }
    cantor_buf_release(&help);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_defaults_parse_and_print_back);
    tcase_add_test(tc, test_bounds);
    tcase_add_test(tc, test_suffixes);
    tcase_add_test(tc, test_file_syntax);
    tcase_add_test(tc, test_bad_lines);
    tcase_add_test(tc, test_files_and_cmdline);
    tcase_add_test(tc, test_reload);
    tcase_add_test(tc, test_dump_round_trip);
    tcase_add_test(tc, test_sample_conf_parses);
    tcase_add_test(tc, test_generated_files_match_repo);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    cantor_log_set_level(CANTOR_LOG_ERROR);
    return tu_run_suite(config_suite());
}
