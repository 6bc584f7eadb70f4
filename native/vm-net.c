/* berth-vm-agent: the guest's network interface, configured from the host's F_NET lines
 * (src/runtime/vm/guest-net.ts decides them from the pod's netns; nothing is decided here):
 *   mac <mac> | mtu <n> | addr <4|6> <address> <prefix> | route <4|6> <dst> <prefix> <gateway|->
 * The interface is the one QEMU gave that MAC. ioctls, not netlink: the agent stays small. */
#include "vm-net.h"
#include "vm-sysfs.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct in6_ifreq_ {
  struct in6_addr addr;
  uint32_t prefixlen;
  int ifindex;
};

static int fail(char *err, size_t cap, const char *what, const char *arg) {
  int e = errno ? errno : EINVAL;
  snprintf(err, cap, "%s %s: %s", what, arg, strerror(e));
  return e;
}

static int set_up(int s, const char *name) {
  struct ifreq ifr = {0};
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) return -1;
  ifr.ifr_flags |= IFF_UP;
  return ioctl(s, SIOCSIFFLAGS, &ifr);
}

static void write_sysctl(const char *iface, const char *key, const char *value) {
  char path[128];
  snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/%s", iface, key);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  if (write(fd, value, strlen(value)) < 0) {}
  close(fd);
}

static int addr4(int s, const char *iface, int n, const char *addr, int prefix) {
  struct ifreq ifr = {0};
  /* Further IPv4 addresses are aliases (eth0:1): SIOCSIFADDR replaces the primary one. */
  if (n) snprintf(ifr.ifr_name, IFNAMSIZ, "%.10s:%d", iface, n & 0xff);
  else snprintf(ifr.ifr_name, IFNAMSIZ, "%s", iface);
  struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
  sin->sin_family = AF_INET;
  if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1 || prefix < 0 || prefix > 32) return errno = EINVAL, -1;
  if (ioctl(s, SIOCSIFADDR, &ifr) < 0) return -1;
  sin->sin_addr.s_addr = prefix ? htonl(~0u << (32 - prefix)) : 0;
  if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0) return -1;
  return n ? set_up(s, ifr.ifr_name) : 0;
}

static int addr6(int s6, int ifindex, const char *addr, int prefix) {
  struct in6_ifreq_ r = {.prefixlen = (uint32_t)prefix, .ifindex = ifindex};
  if (inet_pton(AF_INET6, addr, &r.addr) != 1 || prefix < 0 || prefix > 128) return errno = EINVAL, -1;
  return ioctl(s6, SIOCSIFADDR, &r);
}

static int route4(int s, const char *iface, const char *dst, int prefix, const char *gw) {
  struct rtentry rt = {0};
  struct sockaddr_in *d = (struct sockaddr_in *)&rt.rt_dst, *m = (struct sockaddr_in *)&rt.rt_genmask, *g = (struct sockaddr_in *)&rt.rt_gateway;
  d->sin_family = m->sin_family = g->sin_family = AF_INET;
  if (inet_pton(AF_INET, dst, &d->sin_addr) != 1 || prefix < 0 || prefix > 32) return errno = EINVAL, -1;
  m->sin_addr.s_addr = prefix ? htonl(~0u << (32 - prefix)) : 0;
  rt.rt_flags = RTF_UP | (prefix == 32 ? RTF_HOST : 0);
  if (strcmp(gw, "-")) {
    if (inet_pton(AF_INET, gw, &g->sin_addr) != 1) return errno = EINVAL, -1;
    rt.rt_flags |= RTF_GATEWAY;
  }
  rt.rt_dev = (char *)iface;
  return ioctl(s, SIOCADDRT, &rt);
}

static int route6(int s6, int ifindex, const char *dst, int prefix, const char *gw) {
  struct in6_rtmsg rt = {0};
  if (inet_pton(AF_INET6, dst, &rt.rtmsg_dst) != 1 || prefix < 0 || prefix > 128) return errno = EINVAL, -1;
  rt.rtmsg_dst_len = (unsigned short)prefix;
  rt.rtmsg_flags = RTF_UP;
  rt.rtmsg_metric = 1;
  rt.rtmsg_ifindex = ifindex;
  if (strcmp(gw, "-")) {
    if (inet_pton(AF_INET6, gw, &rt.rtmsg_gateway) != 1) return errno = EINVAL, -1;
    rt.rtmsg_flags |= RTF_GATEWAY;
  }
  return ioctl(s6, SIOCADDRT, &rt);
}

int net_configure(char *text, char *err, size_t cap) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), s6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return fail(err, cap, "socket", "AF_INET");
  char iface[IFNAMSIZ] = {0};
  int ifindex = 0, n4 = 0, rc = set_up(s, "lo") < 0 ? fail(err, cap, "bring up", "lo") : 0;
  for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save)) {
    char key[8], a[64], b[64] = "-";
    int fam = 0, prefix = 0;
    errno = 0;
    if (sscanf(line, "mac %63s", a) == 1) {
      if (strlen(a) != 17 || sysfs_find("/sys/class/net", "address", a, 17, 1, iface, sizeof iface, 300) < 0) {
        rc = fail(err, cap, "no interface with MAC", a);
        break;
      }
      ifindex = (int)if_nametoindex(iface);
      /* The host's addresses and routes are the interface's whole configuration. */
      write_sysctl(iface, "accept_dad", "0");
      write_sysctl(iface, "accept_ra", "0");
      write_sysctl(iface, "autoconf", "0");
    } else if (!*iface) {
      rc = fail(err, cap, "no mac line before", line);
    } else if (sscanf(line, "mtu %d", &prefix) == 1) {
      struct ifreq ifr = {.ifr_mtu = prefix};
      snprintf(ifr.ifr_name, IFNAMSIZ, "%s", iface);
      if (ioctl(s, SIOCSIFMTU, &ifr) < 0) rc = fail(err, cap, "set mtu of", iface);
      else if (set_up(s, iface) < 0) rc = fail(err, cap, "bring up", iface);
    } else if (sscanf(line, "%7s %d %63s %d %63s", key, &fam, a, &prefix, b) >= 4 && (fam == 4 || fam == 6)) {
      int bad;
      if (!strcmp(key, "addr")) bad = fam == 4 ? addr4(s, iface, n4++, a, prefix) : s6 < 0 ? -1 : addr6(s6, ifindex, a, prefix);
      else if (!strcmp(key, "route")) bad = fam == 4 ? route4(s, iface, a, prefix, b) : s6 < 0 ? -1 : route6(s6, ifindex, a, prefix, b);
      else bad = (errno = EINVAL, -1);
      if (bad < 0) rc = fail(err, cap, key, line);
    } else {
      errno = EINVAL;
      rc = fail(err, cap, "bad line", line);
    }
  }
  close(s);
  if (s6 >= 0) close(s6);
  return rc;
}
