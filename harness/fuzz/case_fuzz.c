// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdlib.h>
#include <string.h>

#include "harness/case.h"
#include "harness/fuzz/case_fuzz.h"

int case_fuzz_parse(const uint8_t *data, size_t size, char **err)
{
    char *text = malloc(size + 1);
    program *p;

    *err = NULL;
    if (!text) {
        return -1;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    p = case_parse_string("fuzz.case", text, err);
    free(text);
    if (!p) {
        return -1;
    }
    case_free(p);
    return 0;
}
