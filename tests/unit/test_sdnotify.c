/*
 * test_sdnotify.c - the hand-written sd_notify protocol against a real unix datagram socket (a path
 * in a temp dir and an abstract '@' name), the WATCHDOG_USEC/WATCHDOG_PID rules, the watchdog timer
 * on a libevent loop, and the daemon lifecycle: app start (READY=1), SIGHUP reload (RELOADING=1,
 * config re-read), SIGTERM (STOPPING=1, loop exits) through the real signal handlers.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"
#include "daemon/app.h"
#include "daemon/config.h"
#include "daemon/sdnotify.h"
#include "testutil.h"

struct listener {
    int fd;
    char dir[64];
    char path[128];
};

static void listen_path(struct listener *l)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = 2};

    snprintf(l->dir, sizeof(l->dir), "/tmp/cantor-notify-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(l->dir));
    snprintf(l->path, sizeof(l->path), "%s/notify", l->dir);
    l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(l->fd, 0);
    memcpy(a.sun_path, l->path, strlen(l->path) + 1);
    ck_assert_int_eq(bind(l->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(setsockopt(l->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    ck_assert_int_eq(setenv("NOTIFY_SOCKET", l->path, 1), 0);
}

static void listen_close(struct listener *l)
{
    close(l->fd);
    if (l->path[0]) {
        unlink(l->path);
        rmdir(l->dir);
    }
    unsetenv("NOTIFY_SOCKET");
}

/* Next datagram as a string; "" after the 2 s receive timeout. */
static const char *recv_msg(struct listener *l)
{
    static char buf[CANTOR_SDNOTIFY_MAX_MSG + 1];
    ssize_t n = recv(l->fd, buf, sizeof(buf) - 1, 0);

    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

/* Non-blocking: 1 if a datagram with exactly msg is waiting, 0 if none, fails on another one. */
static int count_msgs(struct listener *l, const char *msg)
{
    char buf[256];
    int n = 0;
    ssize_t r;

    while ((r = recv(l->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
        buf[r] = '\0';
        ck_assert_str_eq(buf, msg);
        n++;
    }
    return n;
}

START_TEST(test_send_path_socket)
{
    struct listener l = {0};

    listen_path(&l);
    ck_assert(cantor_sdnotify_enabled());
    ck_assert_int_eq(cantor_sdnotify_ready("following block 17"), CANTOR_OK);
    ck_assert_str_eq(recv_msg(&l), "READY=1\nSTATUS=following block 17");
    ck_assert_int_eq(cantor_sdnotify_ready(NULL), CANTOR_OK);
    ck_assert_str_eq(recv_msg(&l), "READY=1");
    ck_assert_int_eq(cantor_sdnotify_status("catching up"), CANTOR_OK);
    ck_assert_str_eq(recv_msg(&l), "STATUS=catching up");
    ck_assert_int_eq(cantor_sdnotify_watchdog_ping(), CANTOR_OK);
    ck_assert_str_eq(recv_msg(&l), "WATCHDOG=1");
    ck_assert_int_eq(cantor_sdnotify_stopping(NULL), CANTOR_OK);
    ck_assert_str_eq(recv_msg(&l), "STOPPING=1");
    ck_assert_int_eq(cantor_sdnotify_reloading(), CANTOR_OK);
    ck_assert_msg(strncmp(recv_msg(&l), "RELOADING=1\nMONOTONIC_USEC=", 27) == 0, "bad reloading message");
    /* STATUS must stay one assignment */
    ck_assert_int_eq(cantor_sdnotify_status("two\nlines"), CANTOR_ERR_INVALID);
    ck_assert_int_eq(cantor_sdnotify_send(""), CANTOR_ERR_INVALID);
    {
        char *big = malloc(CANTOR_SDNOTIFY_MAX_MSG + 2);
        ck_assert_ptr_nonnull(big);
        memset(big, 'x', CANTOR_SDNOTIFY_MAX_MSG + 1);
        big[CANTOR_SDNOTIFY_MAX_MSG + 1] = '\0';
        ck_assert_int_eq(cantor_sdnotify_send(big), CANTOR_ERR_TOO_LARGE);
        free(big);
    }
    ck_assert_int_eq(count_msgs(&l, ""), 0); /* nothing else was sent */
    listen_close(&l);
}
END_TEST

START_TEST(test_send_abstract_socket)
{
    struct listener l = {0};
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = 2};
    char name[64], env[80];
    int n;

    n = snprintf(name, sizeof(name), "cantor-test-%ld-%ld", (long)getpid(), (long)random());
    l.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(l.fd, 0);
    memcpy(a.sun_path + 1, name, (size_t)n);
    ck_assert_int_eq(
        bind(l.fd, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)), 0);
    ck_assert_int_eq(setsockopt(l.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    snprintf(env, sizeof(env), "@%s", name);
    setenv("NOTIFY_SOCKET", env, 1);
    ck_assert_int_eq(cantor_sdnotify_ready("abstract"), CANTOR_OK);
    ck_assert_str_eq(recv_msg(&l), "READY=1\nSTATUS=abstract");
    /* a different abstract name does not reach us (no listener: the send fails) */
    snprintf(env, sizeof(env), "@%s-other", name);
    setenv("NOTIFY_SOCKET", env, 1);
    ck_assert_int_eq(cantor_sdnotify_ready(NULL), CANTOR_ERR_IO);
    ck_assert_int_eq(count_msgs(&l, ""), 0);
    listen_close(&l);
}
END_TEST

START_TEST(test_env_rules)
{
    char longpath[200];

    unsetenv("NOTIFY_SOCKET");
    ck_assert(!cantor_sdnotify_enabled());
    ck_assert_int_eq(cantor_sdnotify_ready("x"), CANTOR_OK); /* not under systemd: silent no-op */
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    ck_assert_int_eq(cantor_sdnotify_ready(NULL), CANTOR_ERR_CONFIG);
    setenv("NOTIFY_SOCKET", "@", 1);
    ck_assert_int_eq(cantor_sdnotify_ready(NULL), CANTOR_ERR_CONFIG);
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    setenv("NOTIFY_SOCKET", longpath, 1);
    ck_assert_int_eq(cantor_sdnotify_ready(NULL), CANTOR_ERR_CONFIG);
    setenv("NOTIFY_SOCKET", "/nonexistent/cantor/notify", 1);
    ck_assert_int_eq(cantor_sdnotify_ready(NULL), CANTOR_ERR_IO);
    unsetenv("NOTIFY_SOCKET");
}
END_TEST

START_TEST(test_watchdog_usec)
{
    char pid[32];
    uint64_t usec = 1;

    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    ck_assert_int_eq(cantor_sdnotify_watchdog_usec(&usec), CANTOR_OK);
    ck_assert_uint_eq(usec, 0);
    setenv("WATCHDOG_USEC", "30000000", 1);
    ck_assert_int_eq(cantor_sdnotify_watchdog_usec(&usec), CANTOR_OK);
    ck_assert_uint_eq(usec, 30000000);
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    ck_assert_int_eq(cantor_sdnotify_watchdog_usec(&usec), CANTOR_OK);
    ck_assert_uint_eq(usec, 30000000);
    snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
    setenv("WATCHDOG_PID", pid, 1); /* meant for another process */
    ck_assert_int_eq(cantor_sdnotify_watchdog_usec(&usec), CANTOR_OK);
    ck_assert_uint_eq(usec, 0);
    unsetenv("WATCHDOG_PID");
    setenv("WATCHDOG_USEC", "30s", 1);
    ck_assert_int_eq(cantor_sdnotify_watchdog_usec(&usec), CANTOR_ERR_CONFIG);
    setenv("WATCHDOG_USEC", "0", 1);
    ck_assert_int_eq(cantor_sdnotify_watchdog_usec(&usec), CANTOR_ERR_CONFIG);
    setenv("WATCHDOG_USEC", "-5", 1);
    ck_assert_int_eq(cantor_sdnotify_watchdog_usec(&usec), CANTOR_ERR_CONFIG);
    unsetenv("WATCHDOG_USEC");
}
END_TEST

START_TEST(test_watchdog_timer)
{
    struct listener l = {0};
    struct event_base *base = event_base_new();
    struct cantor_sdnotify_watchdog *wd = NULL;
    struct timeval run = {.tv_sec = 0, .tv_usec = 330000};
    int pings;

    ck_assert_ptr_nonnull(base);
    listen_path(&l);
    unsetenv("WATCHDOG_USEC");
    ck_assert_int_eq(cantor_sdnotify_watchdog_start(base, &wd), CANTOR_OK);
    ck_assert_ptr_null(wd);               /* not requested */
    setenv("WATCHDOG_USEC", "120000", 1); /* ping every 60 ms */
    ck_assert_int_eq(cantor_sdnotify_watchdog_start(base, &wd), CANTOR_OK);
    ck_assert_ptr_nonnull(wd);
    event_base_loopexit(base, &run);
    ck_assert_int_eq(event_base_dispatch(base), 0);
    /* one at start plus one per 60 ms for 330 ms: 6; allow scheduling slack both ways */
    pings = count_msgs(&l, "WATCHDOG=1");
    ck_assert_msg(pings >= 4 && pings <= 7, "pings = %d", pings);
    cantor_sdnotify_watchdog_free(wd);
    cantor_sdnotify_watchdog_free(NULL);
    event_base_free(base);
    unsetenv("WATCHDOG_USEC");
    listen_close(&l);
}
END_TEST

/* Lifecycle: timers raise SIGHUP after rewriting the config, then SIGTERM. */
struct script {
    const char *conf;
    struct cantor_app *app;
    int step;
};

static void script_cb(evutil_socket_t fd, short what, void *arg)
{
    struct script *s = arg;
    FILE *f;

    if (s->step++ == 0) {
        f = fopen(s->conf, "w");
        ck_assert_ptr_nonnull(f);
        fputs("log_level = error\nlisten = 127.0.0.1:7999\npoll_interval = 300ms\n", f);
        fclose(f);
        raise(SIGHUP);
    } else {
        raise(SIGTERM);
    }
}

static int hook_calls[4];
static enum cantor_err hook_start(struct cantor_app *app)
{
    hook_calls[0]++;
    return CANTOR_OK;
}
static void hook_reload(struct cantor_app *app)
{
    hook_calls[1]++;
    ck_assert_uint_eq(app->cfg->poll_interval, 300); /* the new values are in place */
}
static void hook_stop(struct cantor_app *app)
{
    hook_calls[2]++;
}
static void hook_free(struct cantor_app *app)
{
    hook_calls[3]++;
}

START_TEST(test_app_lifecycle)
{
    static const struct cantor_app_hooks hooks = {"probe", hook_start, hook_reload, hook_stop, hook_free};
    struct listener l = {0};
    char conf[200];
    char *argv[] = {"cantord", "--config", conf, NULL};
    struct cantor_cmdline cl;
    struct cantor_config *cfg = NULL;
    struct script s = {conf, NULL, 0};
    struct event *t1, *t2, *guard;
    struct timeval at1 = {0, 50000}, at2 = {0, 150000}, limit = {5, 0};
    char errbuf[CANTOR_CONFIG_ERRLEN];
    FILE *f;

    listen_path(&l);
    unsetenv("WATCHDOG_USEC");
    snprintf(conf, sizeof(conf), "%s/cantord.conf", l.dir);
    f = fopen(conf, "w");
    ck_assert_ptr_nonnull(f);
    fputs("log_level = warn\nlisten = 127.0.0.1:7998\n", f);
    fclose(f);
    ck_assert_int_eq(cantor_config_parse_cmdline(3, argv, &cl, errbuf, sizeof(errbuf)), CANTOR_OK);
    ck_assert_int_eq(cantor_config_load(&cl, &cfg, errbuf, sizeof(errbuf)), CANTOR_OK);
    ck_assert_int_eq(cantor_app_new(&cl, cfg, &s.app), CANTOR_OK);
    cantor_app_set_hooks(s.app, CANTOR_APP_SLOT_FOLLOWER, &hooks);
    ck_assert_int_eq(cantor_app_start(s.app), CANTOR_OK);
    ck_assert_int_eq(cantor_log_current, CANTOR_LOG_WARN);
    ck_assert_str_eq(recv_msg(&l), "STATUS=starting probe");
    ck_assert_str_eq(recv_msg(&l), "READY=1\nSTATUS=running");

    t1 = evtimer_new(s.app->base, script_cb, &s);
    t2 = evtimer_new(s.app->base, script_cb, &s);
    guard = evtimer_new(s.app->base, script_cb, &s); /* bounded: SIGTERM at the latest after 5 s */
    evtimer_add(t1, &at1);
    evtimer_add(t2, &at2);
    evtimer_add(guard, &limit);
    ck_assert_int_eq(cantor_app_run(s.app), CANTOR_OK);
    ck_assert_int_eq(s.step, 2);
    ck_assert(s.app->stopping);
    ck_assert_uint_eq(s.app->reloads, 1);
    ck_assert_int_eq(cantor_log_current, CANTOR_LOG_ERROR); /* reloadable: applied */
    ck_assert_str_eq(s.app->cfg->listen, "127.0.0.1:7998"); /* not reloadable: kept */
    ck_assert_msg(strncmp(recv_msg(&l), "RELOADING=1\n", 12) == 0, "no RELOADING");
    ck_assert_str_eq(recv_msg(&l), "READY=1\nSTATUS=running");
    ck_assert_str_eq(recv_msg(&l), "STOPPING=1\nSTATUS=stopping");
    ck_assert_int_eq(hook_calls[0], 1);
    ck_assert_int_eq(hook_calls[1], 1);
    ck_assert_int_eq(hook_calls[2], 1);
    event_free(t1);
    event_free(t2);
    event_free(guard);
    cantor_app_free(s.app);
    cantor_app_free(NULL);
    ck_assert_int_eq(hook_calls[3], 1);
    unlink(conf);
    listen_close(&l);
}
END_TEST

static Suite *sdnotify_suite(void)
{
    Suite *s = suite_create("sdnotify");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_send_path_socket);
    tcase_add_test(tc, test_send_abstract_socket);
    tcase_add_test(tc, test_env_rules);
    tcase_add_test(tc, test_watchdog_usec);
    tcase_add_test(tc, test_watchdog_timer);
    tcase_add_test(tc, test_app_lifecycle);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    cantor_log_set_level(CANTOR_LOG_ERROR);
    return tu_run_suite(sdnotify_suite());
}
