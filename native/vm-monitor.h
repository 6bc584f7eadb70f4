#ifndef BERTH_VM_MONITOR_H
#define BERTH_VM_MONITOR_H

/* berth-spawn --vm-monitor <channel-fd>: the host process of a berth-vm container. */
int vm_monitor_main(int argc, char **argv);

/* berth-spawn --vm-exec <control-socket> <channel-fd>: the host process of one `exec`. */
int vm_exec_main(int argc, char **argv);

#endif
