/* devchain.c - see devchain.h. */
#include "devchain.h"

#include <stdbool.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cantor_config.h"
#include "core/log.h"

#define DEVCHAIN_LINE_MAX 4096

struct cantor_devchain {
    pid_t pid;
    int out_fd;
    char *url;
    pthread_t drain;
    bool drain_started;
    volatile bool stopping;
};

/* Keep reading the child's progress lines after "ready" so it never blocks on a full pipe. */
static void *drain_main(void *arg)
{
    struct cantor_devchain *c = arg;
    char buf[4096];

    /* Poll with a timeout: a grandchild (anvil) may hold the pipe open after the child exits. */
    while (!c->stopping) {
        struct pollfd p = {.fd = c->out_fd, .events = POLLIN};

        if (poll(&p, 1, 200) > 0 && read(c->out_fd, buf, sizeof(buf)) <= 0)
            break;
    }
    return NULL;
}

const char *cantor_devchain_default_dir(void)
{
    const char *env = getenv("CANTOR_DEVCHAIN_DIR");

    return env && *env ? env : CANTOR_SOURCE_ROOT "/tests/chain";
}

enum cantor_err cantor_free_port(uint16_t *ret_port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    enum cantor_err err = CANTOR_ERR_IO;

    if (fd < 0)
        return CANTOR_ERR_IO;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0) {
        *ret_port = ntohs(sa.sin_port);
        err = CANTOR_OK;
    }
    close(fd);
    return err;
}

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Read lines from the child until {"event":"ready","rpc":URL}; other lines are logged at debug. */
static enum cantor_err wait_ready(struct cantor_devchain *c, unsigned timeout_ms)
{
    char line[DEVCHAIN_LINE_MAX];
    size_t len = 0;
    long deadline = now_ms() + (long)timeout_ms;

    while (now_ms() < deadline) {
        struct pollfd p = {.fd = c->out_fd, .events = POLLIN};
        ssize_t n;
        char ch;

        if (poll(&p, 1, (int)(deadline - now_ms())) <= 0)
            continue;
        n = read(c->out_fd, &ch, 1);
        if (n <= 0) {
            log_error("devchain",
                      "dev chain exited before it was ready (is `npm install` done in tests/chain?)");
            return CANTOR_ERR_IO;
        }
        if (ch != '\n') {
            if (len < sizeof(line) - 1)
                line[len++] = ch;
            continue;
        }
        line[len] = 0;
        len = 0;
        json_t *j = json_loads(line, 0, NULL);
        const char *ev = json_string_value(json_object_get(j, "event"));
        const char *url = json_string_value(json_object_get(j, "rpc"));

        if (ev && strcmp(ev, "ready") == 0 && url) {
            c->url = strdup(url);
            json_decref(j);
            return c->url ? CANTOR_OK : CANTOR_ERR_NOMEM;
        }
        if (ev && strcmp(ev, "error") == 0)
            log_error("devchain", "%s", line);
        json_decref(j);
    }
    log_error("devchain", "dev chain not ready after %u ms", timeout_ms);
    return CANTOR_ERR_TIMEOUT;
}

enum cantor_err cantor_devchain_start(const char *dir, uint16_t port, unsigned timeout_ms,
                                      struct cantor_devchain **ret_chain)
{
    struct cantor_devchain *c;
    char script[4096], portstr[8];
    int pipefd[2];
    enum cantor_err err;

    if (snprintf(script, sizeof(script), "%s/devchain.mjs", dir) >= (int)sizeof(script))
        return CANTOR_ERR_INVALID;
    if (access(script, R_OK) != 0) {
        log_error("devchain",
                  "%s not found: --dev needs the source tree's tests/chain (set CANTOR_DEVCHAIN_DIR)",
                  script);
        return CANTOR_ERR_NOT_FOUND;
    }
    if (port == 0 && (err = cantor_free_port(&port)))
        return err;
    snprintf(portstr, sizeof(portstr), "%u", port);
    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return CANTOR_ERR_IO;
    c = calloc(1, sizeof(*c));
    if (!c) {
        close(pipefd[0]);
        close(pipefd[1]);
        return CANTOR_ERR_NOMEM;
    }
    c->pid = fork();
    if (c->pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        free(c);
        return CANTOR_ERR_IO;
    }
    if (c->pid == 0) {
        pid_t parent = getppid();

        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1);
        dup2(pipefd[1], STDOUT_FILENO);
        if (chdir(dir) != 0)
            _exit(127);
        execlp("node", "node", "devchain.mjs", "--port", portstr, "--forever", "--reorgs", "2", (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]);
    c->out_fd = pipefd[0];
    log_info("devchain", "starting the anvil dev chain on 127.0.0.1:%s (pid %d)", portstr, (int)c->pid);
    err = wait_ready(c, timeout_ms);
    if (err) {
        cantor_devchain_free(c);
        return err;
    }
    log_info("devchain", "dev chain ready at %s", c->url);
    c->drain_started = pthread_create(&c->drain, NULL, drain_main, c) == 0;
    *ret_chain = c;
    return CANTOR_OK;
}

const char *cantor_devchain_url(const struct cantor_devchain *c)
{
    return c->url;
}

void cantor_devchain_free(struct cantor_devchain *c)
{
    if (!c)
        return;
    if (c->pid > 0) {
        kill(c->pid, SIGTERM);
        for (int i = 0; i < 50; i++) {
            if (waitpid(c->pid, NULL, WNOHANG) == c->pid) {
                c->pid = 0;
                break;
            }
            usleep(100000);
        }
        if (c->pid > 0) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, NULL, 0);
        }
    }
    c->stopping = true;
    if (c->drain_started)
        pthread_join(c->drain, NULL);
    if (c->out_fd > 0)
        close(c->out_fd);
    free(c->url);
    free(c);
}
