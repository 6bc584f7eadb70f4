#ifndef BERTH_EXEC_REAPER_H
#define BERTH_EXEC_REAPER_H

/* berth-spawn --exec-reaper <pid-file> <program> [args...]: runs a runtime's detached exec
 * (`runc exec --detach --pid-file <pid-file> ...`) as a child subreaper, then waits for the
 * process the runtime left behind. Writes one line on stdout: "exit <status>" (128+signal when it
 * was killed), or "runtime <status>" when the runtime itself failed. Returns an exit code. */
int exec_reaper_main(int argc, char **argv);

#endif
