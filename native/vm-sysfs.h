#ifndef BERTH_VM_SYSFS_H
#define BERTH_VM_SYSFS_H

#include <stddef.h>

/* Finds the entry of a sysfs class directory (/sys/class/net) whose attribute file (address)
 * starts with want (len bytes; case-blind with icase), retrying for up to tries × 10 ms as a
 * device appears a moment after its driver loads. 0 with the entry's name in found, or -1
 * (errno ENODEV). */
int sysfs_find(const char *class_dir, const char *attr, const char *want, size_t len, int icase, char *found, size_t cap, int tries);

#endif
