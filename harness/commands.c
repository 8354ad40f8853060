/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The registry of case commands: every file's table. The parser finds a
 * command's row here; the interpreter runs the row the statement keeps.
 */
#include "harness/command.h"

const case_command *const case_command_tables[] = {
    cmd_core_commands,
    cmd_qmp_commands,
    cmd_model_commands,
    cmd_shell_commands,
    cmd_tools_commands,
    cmd_vma_commands,
    cmd_checks_commands,
    cmd_img_commands,
    NULL
};

const case_command *case_command_find(const char *name)
{
    for (const case_command *const *t = case_command_tables; *t; t++)
        for (const case_command *c = *t; c->name; c++)
            if (!strcmp(c->name, name))
                return c;
    return NULL;
}
