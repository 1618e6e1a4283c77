/*
 * devchain.h - `cantord --dev` (like `geth --dev`): start the local anvil chain with real contract
 * traffic from tests/chain/devchain.mjs as a child process and hand back its RPC URL.
 *
 * The child gets PR_SET_PDEATHSIG, so it dies with cantord even after a kill -9. Memory: the
 * devchain owns its URL string; cantor_devchain_free() stops the child (SIGTERM, then SIGKILL).
 */
#ifndef CANTOR_DAEMON_DEVCHAIN_H
#define CANTOR_DAEMON_DEVCHAIN_H

#include <stdint.h>

#include "core/err.h"

struct cantor_devchain;

/* dir: the folder holding devchain.mjs; port 0 picks a free loopback port. Blocks until anvil
   answers (at most timeout_ms). */
enum cantor_err cantor_devchain_start(const char *dir, uint16_t port, unsigned timeout_ms,
                                      struct cantor_devchain **ret_chain);
const char *cantor_devchain_url(const struct cantor_devchain *c);
void cantor_devchain_free(struct cantor_devchain *c);

/* The tests/chain folder of this source tree (CANTOR_DEVCHAIN_DIR in the environment overrides). */
const char *cantor_devchain_default_dir(void);

/* A currently free TCP port on 127.0.0.1 (bind to port 0 and read it back). */
enum cantor_err cantor_free_port(uint16_t *ret_port);

#endif
