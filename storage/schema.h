/*
 * schema.h - the store's schema version and its migrations.
 *
 * meta["cantor.schema"] holds a u32 written when a store is created. Opening a store with a newer
 * version fails with CANTOR_ERR_SCHEMA (this binary cannot know its layout); an older one is
 * upgraded step by step through a table of migrations, each step one atomic batch that also
 * bumps the version, so a crash mid-migration resumes at the last finished step.
 */
#ifndef CANTOR_STORAGE_SCHEMA_H
#define CANTOR_STORAGE_SCHEMA_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "storage/kv.h"

/*
 * Create (empty store: *ret_created = true, version written) or check and migrate. `sync` is the
 * store's durability setting.
 */
enum cantor_err cantor_schema_open(struct cantor_kv *kv, bool sync, bool *ret_created);
/* The version found in a store; CANTOR_ERR_NOT_FOUND for a store without one. */
enum cantor_err cantor_schema_read(struct cantor_kv *kv, uint32_t *ret_version);

#endif
