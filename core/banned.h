/*
 * banned.h - functions we never call (after git's banned.h). Included by every cantord source
 * through the common compiler flags (-include), so a use is a compile error, not a review comment.
 */
#ifndef CANTOR_BANNED_H
#define CANTOR_BANNED_H

/*
 * banned.h is force-included first (-include), so the system headers that declare or inline the
 * banned functions are pulled in here, before the macros exist; their include guards keep later
 * #includes from expanding the macros inside libc's own declarations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CANTOR_BANNED(func) sorry_##func##_is_banned_in_cantord

#undef strcpy
#define strcpy(x, y) CANTOR_BANNED(strcpy)
#undef strcat
#define strcat(x, y) CANTOR_BANNED(strcat)
#undef sprintf
#define sprintf(...) CANTOR_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) CANTOR_BANNED(vsprintf)
#undef gets
#define gets(x) CANTOR_BANNED(gets)
#undef atoi
#define atoi(x) CANTOR_BANNED(atoi)

#endif
