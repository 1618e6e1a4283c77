/*
 * log.h - leveled logging with subsystems (after redis' serverLog and knot-resolver's kr_log).
 *
 * One global level, settable at runtime (SIGHUP reload). Messages go to stderr (journald picks
 * them up under systemd) as "<level> subsystem: message". Below-level calls cost one comparison.
 * Thread-safe: each message is formatted into a local buffer and written with one write(2).
 */
#ifndef CANTOR_LOG_H
#define CANTOR_LOG_H

#include "err.h"

enum cantor_log_level {
    CANTOR_LOG_ERROR = 0,
    CANTOR_LOG_WARN = 1,
    CANTOR_LOG_INFO = 2,
    CANTOR_LOG_DEBUG = 3,
};

extern enum cantor_log_level cantor_log_current;

void cantor_log_set_level(enum cantor_log_level level);
/* Parse "error", "warn", "info", "debug". */
enum cantor_err cantor_log_level_parse(const char *s, enum cantor_log_level *ret_level);
const char *cantor_log_level_name(enum cantor_log_level level);
void cantor_log_write(enum cantor_log_level level, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define cantor_log(level, subsys, ...)                                                                       \
    do {                                                                                                     \
        if ((level) <= cantor_log_current)                                                                   \
            cantor_log_write((level), (subsys), __VA_ARGS__);                                                \
    } while (0)
#define log_error(subsys, ...) cantor_log(CANTOR_LOG_ERROR, subsys, __VA_ARGS__)
#define log_warn(subsys, ...)  cantor_log(CANTOR_LOG_WARN, subsys, __VA_ARGS__)
#define log_info(subsys, ...)  cantor_log(CANTOR_LOG_INFO, subsys, __VA_ARGS__)
#define log_debug(subsys, ...) cantor_log(CANTOR_LOG_DEBUG, subsys, __VA_ARGS__)

#endif
