#include "console.h"
#include "fd-send.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

static void send_fd(struct exec_state *st, int sock, int fd, const char *name) {
  if (send_with_fd(sock, name, strlen(name), fd) < 0) fail(st, errno, "send pty master over the console socket");
}

void setup_console(struct exec_state *st, unsigned rows, unsigned cols, int bind_console) {
  int sock = st->slots[SLOT_CONSOLE];
  if (sock < 0) fail(st, EBADF, "terminal requested without a console socket");
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) fail(st, errno, "open /dev/ptmx");
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) fail(st, errno, "unlock pty");
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) fail(st, errno, "open pty slave");
  unsigned ptn = 0;
  if (ioctl(master, TIOCGPTN, &ptn) < 0) fail(st, errno, "pty number");
  if (rows || cols) {
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    if (ioctl(slave, TIOCSWINSZ, &ws) < 0) fail(st, errno, "set window size");
  }
  send_fd(st, sock, master, "/dev/ptmx");
  close(master);
  close(sock);
  st->slots[SLOT_CONSOLE] = -1;
  if (ioctl(slave, TIOCSCTTY, 0) < 0) fail(st, errno, "make the pty the controlling terminal");
  for (int fd = 0; fd < 3; fd++)
    if (dup3(slave, fd, 0) < 0) fail(st, errno, "dup pty to fd %d", fd);
  if (bind_console) {
    char path[64];
    snprintf(path, sizeof path, "/dev/pts/%u", ptn);
    if (mount(path, "/dev/console", NULL, MS_BIND, NULL) < 0) fail(st, errno, "bind %s to /dev/console", path);
  }
  close(slave);
}
