#ifndef BERTH_CONSOLE_H
#define BERTH_CONSOLE_H

#include "ops.h"

/* Creates a pty in the container's devpts, sends the master over the console socket (SCM_RIGHTS),
 * makes the slave the controlling terminal and stdio, and optionally binds it onto /dev/console. */
void setup_console(struct exec_state *st, unsigned rows, unsigned cols, int bind_console);

#endif
