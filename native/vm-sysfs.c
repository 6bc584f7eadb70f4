/* berth-vm-agent: finding a device by one of its sysfs attributes (vm-sysfs.h). */
#include "vm-sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int sysfs_find(const char *class_dir, const char *attr, const char *want, size_t len, int icase, char *found, size_t cap, int tries) {
  for (int t = 0; t < tries; t++) {
    DIR *d = opendir(class_dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      if (e->d_name[0] == '.' || strlen(e->d_name) >= cap) continue;
      char path[512], value[128] = {0};
      snprintf(path, sizeof path, "%s/%s/%s", class_dir, e->d_name, attr);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      ssize_t n = read(fd, value, sizeof value - 1);
      close(fd);
      if (n < (ssize_t)len || (icase ? strncasecmp(value, want, len) : strncmp(value, want, len)) != 0) continue;
      strcpy(found, e->d_name);
      closedir(d);
      return 0;
    }
    if (d) closedir(d);
    struct timespec ms10 = {0, 10 * 1000 * 1000};
    nanosleep(&ms10, NULL);
  }
  errno = ENODEV;
  return -1;
}
