/*
 * sdnotify.c - see sdnotify.h. Each message opens a fresh datagram socket, like libsystemd's
 * sd_notify(), so there is no state to keep across fork/exec and nothing to close at exit.
 */
#include "sdnotify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"

struct cantor_sdnotify_watchdog {
    struct event *ev;
};

bool cantor_sdnotify_enabled(void)
{
    const char *s = getenv("NOTIFY_SOCKET");

    return s && *s;
}

/* Fill addr from $NOTIFY_SOCKET; "@name" is the abstract namespace (leading NUL, no terminator). */
static enum cantor_err notify_addr(const char *name, struct sockaddr_un *addr, socklen_t *ret_len)
{
    size_t n = strlen(name);

    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    if (n < 2 || (name[0] != '/' && name[0] != '@') || n >= sizeof(addr->sun_path))
        return CANTOR_ERR_CONFIG;
    memcpy(addr->sun_path, name, n);
    if (name[0] == '@') {
        addr->sun_path[0] = '\0';
        *ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        *ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    return CANTOR_OK;
}

enum cantor_err cantor_sdnotify_send(const char *msg)
{
    const char *name = getenv("NOTIFY_SOCKET");
    struct sockaddr_un addr;
    socklen_t alen;
    size_t len = strlen(msg);
    enum cantor_err err;
    ssize_t n;
    int fd;

    if (!name || !*name)
        return CANTOR_OK;
    if (len == 0 || len > CANTOR_SDNOTIFY_MAX_MSG)
        return len ? CANTOR_ERR_TOO_LARGE : CANTOR_ERR_INVALID;
    err = notify_addr(name, &addr, &alen);
    if (err) {
        log_warn("sdnotify", "NOTIFY_SOCKET '%s' is not a unix socket path or @abstract name", name);
        return err;
    }
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return CANTOR_ERR_IO;
    do {
        n = sendto(fd, msg, len, MSG_NOSIGNAL, (struct sockaddr *)&addr, alen);
    } while (n < 0 && errno == EINTR);
    if (n < 0 || (size_t)n != len) {
        log_warn("sdnotify", "send to %s failed: %s", name, n < 0 ? strerror(errno) : "short write");
        err = CANTOR_ERR_IO;
    }
    close(fd);
    return err;
}

enum cantor_err cantor_sdnotify_printf(const char *fmt, ...)
{
    char msg[CANTOR_SDNOTIFY_MAX_MSG + 1];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        return CANTOR_ERR_INVALID;
    if ((size_t)n >= sizeof(msg))
        return CANTOR_ERR_TOO_LARGE;
    return cantor_sdnotify_send(msg);
}

/* STATUS= is one line: a newline would start a new assignment. */
static bool one_line(const char *s)
{
    return s && !strchr(s, '\n');
}

enum cantor_err cantor_sdnotify_ready(const char *status)
{
    if (status && !one_line(status))
        return CANTOR_ERR_INVALID;
    return status ? cantor_sdnotify_printf("READY=1\nSTATUS=%s", status) : cantor_sdnotify_send("READY=1");
}

enum cantor_err cantor_sdnotify_status(const char *status)
{
    if (!one_line(status))
        return CANTOR_ERR_INVALID;
    return cantor_sdnotify_printf("STATUS=%s", status);
}

enum cantor_err cantor_sdnotify_reloading(void)
{
    struct timespec ts;

    /* systemd >= 253 wants MONOTONIC_USEC with RELOADING=1 (Type=notify-reload); older ones ignore it. */
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return cantor_sdnotify_send("RELOADING=1");
    return cantor_sdnotify_printf("RELOADING=1\nMONOTONIC_USEC=%llu",
                                  (unsigned long long)ts.tv_sec * 1000000ULL +
                                      (unsigned long long)ts.tv_nsec / 1000);
}

enum cantor_err cantor_sdnotify_stopping(const char *status)
{
    if (status && !one_line(status))
        return CANTOR_ERR_INVALID;
    return status ? cantor_sdnotify_printf("STOPPING=1\nSTATUS=%s", status)
                  : cantor_sdnotify_send("STOPPING=1");
}

enum cantor_err cantor_sdnotify_watchdog_ping(void)
{
    return cantor_sdnotify_send("WATCHDOG=1");
}

static enum cantor_err parse_env_u64(const char *s, uint64_t *ret)
{
    char *end;
    unsigned long long v;

    if (!s || *s < '0' || *s > '9')
        return CANTOR_ERR_CONFIG;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end)
        return CANTOR_ERR_CONFIG;
    *ret = v;
    return CANTOR_OK;
}

enum cantor_err cantor_sdnotify_watchdog_usec(uint64_t *ret_usec)
{
    const char *usec = getenv("WATCHDOG_USEC");
    const char *pid = getenv("WATCHDOG_PID");
    uint64_t v, p;

    *ret_usec = 0;
    if (!usec || !*usec)
        return CANTOR_OK;
    if (parse_env_u64(usec, &v) || v == 0)
        return CANTOR_ERR_CONFIG;
    if (pid && *pid) {
        if (parse_env_u64(pid, &p))
            return CANTOR_ERR_CONFIG;
        if (p != (uint64_t)getpid())
            return CANTOR_OK;
    }
    *ret_usec = v;
    return CANTOR_OK;
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)cantor_sdnotify_watchdog_ping();
}

enum cantor_err cantor_sdnotify_watchdog_start(struct event_base *base,
                                               struct cantor_sdnotify_watchdog **ret_wd)
{
    struct cantor_sdnotify_watchdog *wd = NULL;
    struct timeval tv;
    uint64_t usec, half;
    enum cantor_err err;

    *ret_wd = NULL;
    err = cantor_sdnotify_watchdog_usec(&usec);
    if (err || usec == 0 || !cantor_sdnotify_enabled())
        return err;
    wd = calloc(1, sizeof(*wd));
    if (!wd)
        return CANTOR_ERR_NOMEM;
    wd->ev = event_new(base, -1, EV_PERSIST, watchdog_cb, wd);
    if (!wd->ev) {
        err = CANTOR_ERR_NOMEM;
        goto out;
    }
    half = usec / 2 ? usec / 2 : 1;
    tv.tv_sec = (time_t)(half / 1000000);
    tv.tv_usec = (suseconds_t)(half % 1000000);
    if (event_add(wd->ev, &tv) != 0) {
        err = CANTOR_ERR_IO;
        goto out;
    }
    (void)cantor_sdnotify_watchdog_ping();
    log_info("sdnotify", "watchdog enabled: ping every %llu ms", (unsigned long long)(half / 1000));
    *ret_wd = wd;
    wd = NULL;
out:
    cantor_sdnotify_watchdog_free(wd);
    return err;
}

void cantor_sdnotify_watchdog_free(struct cantor_sdnotify_watchdog *wd)
{
    if (!wd)
        return;
    if (wd->ev)
        event_free(wd->ev);
    free(wd);
}
