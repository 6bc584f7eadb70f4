/* Port-forward's way into a pod: Node cannot setns(2), so this short-lived mode joins the pod's
 * network namespace, connects to the port on loopback and hands the connected socket back to its
 * parent with SCM_RIGHTS, then exits. The socket stays in the namespace it was made in; the bytes
 * then move between berthd and the pod with no process in between.
 *
 * The reply on <fd> is always one message of two little-endian u32: the stage that failed (0 none,
 * with the socket attached; 1 joining the namespace; 2 connecting) and its errno. */
#include "netns-connect.h"
#include "fd-send.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum { STAGE_OK, STAGE_NETNS, STAGE_CONNECT };

static void put_le32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (v >> (8 * i)) & 0xff;
}

static int reply(int chan, uint32_t stage, uint32_t err, int fd) {
  unsigned char body[8];
  put_le32(body, stage);
  put_le32(body + 4, err);
  return send_with_fd(chan, body, sizeof body, fd) == (ssize_t)sizeof body ? 0 : 1;
}

/* How long one connect may take by default: a namespace whose `lo` is down routes 127.0.0.1 out
 * of its default route, where the SYN is dropped and connect would wait minutes. */
#define CONNECT_TIMEOUT_MS 10000

/* A connected socket, or -1 with errno (ETIMEDOUT after timeout_ms); EINTR is retried, a
 * failed IPv4 connect tries IPv6 (the pod may listen on ::1 only, as the kubelet's port-forward
 * allows). */
static int connect_loopback(unsigned port, long timeout_ms) {
  struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = {htonl(INADDR_LOOPBACK)}};
  struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
  const struct sockaddr *addrs[2] = {(const struct sockaddr *)&v4, (const struct sockaddr *)&v6};
  const socklen_t lens[2] = {sizeof v4, sizeof v6};
  int first = 0;
  for (int i = 0; i < 2; i++) {
    int s = socket(addrs[i]->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
      if (!first) first = errno;
      continue;
    }
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int r;
    do r = connect(s, addrs[i], lens[i]);
    while (r < 0 && errno == EINTR);
    if (r == 0) {
      struct timeval none = {0};
      setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
      return s;
    }
    /* SO_SNDTIMEO's expiry reads EINPROGRESS; say what it means. */
    if (!first) first = errno == EINPROGRESS ? ETIMEDOUT : errno;
    close(s);
  }
  errno = first;
  return -1;
}

int netns_connect_main(int argc, char **argv) {
  if (argc != 5 && argc != 6) {
    dprintf(2, "usage: berth-spawn --netns-connect <netns-path> <port> <fd> [timeout-ms]\n");
    return 2;
  }
  char *end;
  long port = strtol(argv[3], &end, 10);
  long chan = strtol(argv[4], NULL, 10);
  long timeout_ms = argc == 6 ? strtol(argv[5], NULL, 10) : CONNECT_TIMEOUT_MS;
  if (*end || port < 1 || port > 65535 || chan < 3 || timeout_ms < 1) {
    dprintf(2, "berth-spawn --netns-connect: bad port %s or fd %s\n", argv[3], argv[4]);
    return 2;
  }
  int ns = open(argv[2], O_RDONLY | O_CLOEXEC);
  if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
    int err = errno;
    return reply((int)chan, STAGE_NETNS, (uint32_t)err, -1);
  }
  close(ns);
  int s = connect_loopback((unsigned)port, timeout_ms);
  if (s < 0) return reply((int)chan, STAGE_CONNECT, (uint32_t)errno, -1);
  return reply((int)chan, STAGE_OK, 0, s);
}
