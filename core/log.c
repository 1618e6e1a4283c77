/* log.c - see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum cantor_log_level cantor_log_current = CANTOR_LOG_INFO;

static const char *const names[] = {"error", "warn", "info", "debug"};
/* sd-daemon(3) priority prefixes, so journald files each line at the right level. */
static const char *const prefixes[] = {"<3>", "<4>", "<6>", "<7>"};

void cantor_log_set_level(enum cantor_log_level level)
{
    if (level <= CANTOR_LOG_DEBUG)
        cantor_log_current = level;
}

enum cantor_err cantor_log_level_parse(const char *s, enum cantor_log_level *ret_level)
{
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (s && strcmp(s, names[i]) == 0) {
            *ret_level = (enum cantor_log_level)i;
            return CANTOR_OK;
        }
    }
    return CANTOR_ERR_INVALID;
}

const char *cantor_log_level_name(enum cantor_log_level level)
{
    return level <= CANTOR_LOG_DEBUG ? names[level] : "?";
}

void cantor_log_write(enum cantor_log_level level, const char *subsys, const char *fmt, ...)
{
    char line[2048];
    int n, m;
    va_list ap;

    if (level > CANTOR_LOG_DEBUG)
        level = CANTOR_LOG_DEBUG;
    n = snprintf(line, sizeof(line), "%s%s %s: ", prefixes[level], names[level], subsys);
    if (n < 0)
        return;
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    n += m;
    if ((size_t)n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    (void)!write(STDERR_FILENO, line, (size_t)n);
}
