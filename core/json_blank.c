/*
 * json_blank.c - blank named members' values in JSON text in place (json_blank.h says why).
 */
#include <stdint.h>
#include <string.h>

#include "json_blank.h"

#define NOT_FOUND SIZE_MAX

/* text[i] is '"': the index just past the closing quote, or NOT_FOUND if the string never closes. */
static size_t skip_string(const char *text, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (text[i] == '\\')
            i++; /* the escaped byte cannot close the string; \uXXXX needs no more care here */
        else if (text[i] == '"')
            return i + 1;
    }
    return NOT_FOUND;
}

static size_t skip_ws(const char *text, size_t len, size_t i)
{
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    return i;
}

/*
 * The value starting at text[i]: the index just past it, or NOT_FOUND when its strings or brackets are
 * not well formed (then the JSON parser reports the error on the untouched text).
 */
static size_t skip_value(const char *text, size_t len, size_t i)
{
    uint8_t open[CANTOR_JSON_BLANK_MAX_DEPTH / 8] = {0}; /* bit set: '[' at that depth, clear: '{' */
    size_t depth = 0;

    if (i >= len)
        return NOT_FOUND;
    if (text[i] == '"')
        return skip_string(text, len, i);
    if (text[i] != '{' && text[i] != '[') {
        while (i < len && text[i] != ',' && text[i] != '}' && text[i] != ']' && text[i] != ' ' &&
               text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
            i++;
        return i;
    }
    while (i < len) {
        char c = text[i];
        if (c == '"') {
            i = skip_string(text, len, i);
            if (i == NOT_FOUND)
                return NOT_FOUND;
            continue;
        }
        if (c == '{' || c == '[') {
            if (depth == CANTOR_JSON_BLANK_MAX_DEPTH)
                return NOT_FOUND;
            if (c == '[')
                open[depth / 8] |= (uint8_t)(1u << (depth % 8));
            else
                open[depth / 8] &= (uint8_t) ~(1u << (depth % 8));
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return NOT_FOUND;
            depth--;
            if (((open[depth / 8] >> (depth % 8)) & 1) != (c == ']'))
                return NOT_FOUND; /* "[}" or "{]" */
            if (depth == 0)
                return i + 1;
        }
        i++;
    }
    return NOT_FOUND;
}

static int wanted(const char *key, size_t klen, const char *const *names)
{
    for (size_t k = 0; names[k]; k++)
        if (strlen(names[k]) == klen && memcmp(names[k], key, klen) == 0)
            return 1;
    return 0;
}

size_t cantor_json_blank_members(char *text, size_t len, const char *const *names)
{
    size_t i = 0, n = 0;

    if (!text || !names)
        return 0;
    while (i < len) {
        size_t end, colon, v, e;

        if (text[i] != '"') {
            i++;
            continue;
        }
        end = skip_string(text, len, i);
        if (end == NOT_FOUND)
            break;
        colon = skip_ws(text, len, end);
        /* A string followed by ':' is a member's key (a string value is followed by ',', '}' or ']'). */
        if (colon < len && text[colon] == ':' && wanted(text + i + 1, end - i - 2, names)) {
            v = skip_ws(text, len, colon + 1);
            e = skip_value(text, len, v);
            if (e == NOT_FOUND)
                break;
            if (e - v > 4 || (e - v == 4 && memcmp(text + v, "null", 4) != 0)) {
                memcpy(text + v, "null", 4);
                memset(text + v + 4, ' ', e - v - 4);
                n++;
            }
            i = e;
            continue;
        }
        i = end;
    }
    return n;
}
