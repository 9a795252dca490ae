/*
 * cmd_run: `kguard run` (placeholder until the run loop lands).
 */
#include "commands.h"

int cmd_run(const kg_cli *c)
{
    (void)c;
    cli_warn("run is not built yet");
    return 1;
}
