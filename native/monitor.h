#ifndef BERTH_MONITOR_H
#define BERTH_MONITOR_H
/* berth-spawn --monitor: see monitor.c. argv as given to main(). */
int monitor_main(int argc, char **argv);
#endif
