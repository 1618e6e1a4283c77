/*
 * components.h - the hooks that plug cantord's real components into struct cantor_app: the store
 * (RocksDB under data_dir/db), the upstream node (JSON-RPC client; with --dev or no eth_rpc, the
 * local anvil dev chain), the follower thread and the HTTP server. Slot order is start order.
 */
#ifndef CANTOR_DAEMON_COMPONENTS_H
#define CANTOR_DAEMON_COMPONENTS_H

#include "daemon/app.h"

extern const struct cantor_app_hooks cantor_store_hooks;
extern const struct cantor_app_hooks cantor_node_hooks;
extern const struct cantor_app_hooks cantor_follower_hooks;
extern const struct cantor_app_hooks cantor_http_hooks;

/* Plug every component into the app. */
void cantor_components_install(struct cantor_app *app);

#endif
