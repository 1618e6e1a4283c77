/*
 * err.h - the one error enum of cantord.
 *
 * Every fallible function returns enum cantor_err; CANTOR_OK is 0 so `if (err)` reads naturally.
 * The enum only grows (values are stable across releases, like CURLcode): append new codes at the
 * end, never renumber. cantor_err_str() returns a static string owned by the library.
 */
#ifndef CANTOR_ERR_H
#define CANTOR_ERR_H

enum cantor_err {
    CANTOR_OK = 0,
    CANTOR_ERR_NOMEM = 1,          /* allocation failed */
    CANTOR_ERR_INVALID = 2,        /* invalid argument or malformed input */
    CANTOR_ERR_TRUNCATED = 3,      /* input ended early */
    CANTOR_ERR_TOO_LARGE = 4,      /* input or output exceeds a configured limit */
    CANTOR_ERR_HEX = 5,            /* bad hex string */
    CANTOR_ERR_RLP = 6,            /* malformed or non-canonical RLP */
    CANTOR_ERR_JSON = 7,           /* malformed JSON or wrong JSON types */
    CANTOR_ERR_PROOF = 8,          /* a Merkle proof does not verify */
    CANTOR_ERR_NOT_FOUND = 9,      /* key, block or file not present */
    CANTOR_ERR_IO = 10,            /* file or socket I/O failed */
    CANTOR_ERR_STORE = 11,         /* the storage engine reported an error */
    CANTOR_ERR_RPC = 12,           /* the upstream node returned an error */
    CANTOR_ERR_TIMEOUT = 13,       /* an operation timed out */
    CANTOR_ERR_CHECKSUM = 14,      /* checksum mismatch */
    CANTOR_ERR_UNSUPPORTED = 15,   /* valid but unsupported (version, codec, method) */
    CANTOR_ERR_OVERFLOW = 16,      /* arithmetic overflow */
    CANTOR_ERR_MISMATCH = 17,      /* two things that must agree do not */
    CANTOR_ERR_CORRUPT = 18,       /* stored or compressed data is corrupt */
    CANTOR_ERR_REORG = 19,         /* parent hash does not match: chain reorganised */
    CANTOR_ERR_SCHEMA = 20,        /* store schema version is not usable */
    CANTOR_ERR_AUTH = 21,          /* missing or wrong credentials */
    CANTOR_ERR_CONFIG = 22,        /* bad configuration */
    CANTOR_ERR_UNKNOWN_MODEL = 23, /* a chunk names a model version we do not have */
    CANTOR_ERR_SIGNATURE = 24,     /* a signature does not verify */
    CANTOR_ERR_BUSY = 25,          /* resource busy, try again */
    CANTOR_ERR_STOPPED = 26,       /* operation cancelled because we are shutting down */
    CANTOR_ERR__COUNT
};

const char *cantor_err_str(enum cantor_err err);

#endif
