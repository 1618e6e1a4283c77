/* err.c - human-readable strings for enum cantor_err (static storage, never freed). */
#include "err.h"

static const char *const messages[CANTOR_ERR__COUNT] = {
    [CANTOR_OK] = "success",
    [CANTOR_ERR_NOMEM] = "out of memory",
    [CANTOR_ERR_INVALID] = "invalid argument or input",
    [CANTOR_ERR_TRUNCATED] = "input truncated",
    [CANTOR_ERR_TOO_LARGE] = "size limit exceeded",
    [CANTOR_ERR_HEX] = "invalid hex string",
    [CANTOR_ERR_RLP] = "malformed or non-canonical RLP",
    [CANTOR_ERR_JSON] = "malformed JSON or wrong JSON type",
    [CANTOR_ERR_PROOF] = "proof does not verify",
    [CANTOR_ERR_NOT_FOUND] = "not found",
    [CANTOR_ERR_IO] = "I/O error",
    [CANTOR_ERR_STORE] = "storage engine error",
    [CANTOR_ERR_RPC] = "upstream node returned an error",
    [CANTOR_ERR_TIMEOUT] = "timed out",
    [CANTOR_ERR_CHECKSUM] = "checksum mismatch",
    [CANTOR_ERR_UNSUPPORTED] = "unsupported",
    [CANTOR_ERR_OVERFLOW] = "arithmetic overflow",
    [CANTOR_ERR_MISMATCH] = "mismatch",
    [CANTOR_ERR_CORRUPT] = "corrupt data",
    [CANTOR_ERR_REORG] = "chain reorganisation (parent hash mismatch)",
    [CANTOR_ERR_SCHEMA] = "unusable store schema version",
    [CANTOR_ERR_AUTH] = "authentication failed",
    [CANTOR_ERR_CONFIG] = "invalid configuration",
    [CANTOR_ERR_UNKNOWN_MODEL] = "unknown model version",
    [CANTOR_ERR_SIGNATURE] = "signature does not verify",
    [CANTOR_ERR_BUSY] = "busy, try again",
    [CANTOR_ERR_STOPPED] = "stopped",
};

const char *cantor_err_str(enum cantor_err err)
{
    if ((unsigned)err >= CANTOR_ERR__COUNT || !messages[err])
        return "unknown error";
    return messages[err];
}
