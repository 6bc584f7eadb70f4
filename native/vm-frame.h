/* Frames between berth-vm's host monitor and its guest agent (over a virtio-serial port), and
 * between the monitor and its clients (over the unix control socket). One format for both:
 *
 *   u32 type, u32 session, u32 length (little endian), then length bytes of payload.
 *
 * The session names a process in the guest (0 is the container's init, 1.. exec'd processes);
 * for requests that are not about a process (write, ps) it is a tag echoed in the reply. */
#ifndef BERTH_VM_FRAME_H
#define BERTH_VM_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_MAX_PAYLOAD (1u << 20)

enum frame_type {
  /* host -> guest */
  F_PLAN = 1,       /* payload: console socket path (may be empty), NUL, then a berth plan */
  F_ACK = 2,        /* a line for the session's berth-spawn channel ("ack\n") */
  F_STDIN = 3,      /* data for the process's stdin (or its terminal) */
  F_STDIN_EOF = 4,  /* close its stdin */
  F_KILL = 5,       /* payload: u32 signal number */
  F_KILL_ALL = 6,   /* payload: u32 signal; every process in the guest but the agent */
  F_WRITE = 7,      /* payload: path, NUL, data: written into an existing file (fifo, /proc) */
  F_PS = 8,         /* list the guest's processes */
  F_RESIZE = 9,     /* payload: u16 rows, u16 cols */
  F_NET = 10,       /* payload: the guest interface's settings, a line each (src/runtime/vm/guest-net.ts) */
  /* guest -> host */
  F_READY = 20,     /* the agent is up and waiting for a plan; payload: guest kernel release */
  F_CHAN = 21,      /* a line berth-spawn wrote on its channel ("pid N", "sync NAME", "error ...") */
  F_STDOUT = 22,
  F_STDERR = 23,
  F_EXIT = 24,      /* payload: u32 wait status of the session's process */
  F_REPLY = 25,     /* answer to F_WRITE (u32 errno), F_NET (u32 errno, then what failed) or F_PS (text) */
  /* client <-> monitor only */
  F_STDIO = 40,     /* client -> monitor: its fds 0, 1, 2 (SCM_RIGHTS) become the session's stdio */
  F_CONSOLE = 41,   /* client -> monitor: payload: host console socket that gets a pty master */
  F_PAUSE = 42,     /* client -> monitor: stop the VM's vCPUs (QMP stop) */
  F_RESUME = 43,    /* client -> monitor: QMP cont */
  F_DONE = 44,      /* monitor -> client: payload: u32 errno of the request (0: done);
                     * runtime -> monitor on the create channel: set-up is over, carry on alone */
  F_CONFIG = 45,    /* runtime -> monitor, first on the create channel: NUL-separated key, value pairs */
};

struct frame {
  uint32_t type, session, len;
  unsigned char *data; /* NUL-terminated copy (len + 1 bytes); owned by the frame */
};

/* Writes one frame (blocking, retrying on EINTR). Returns 0, or -1 with errno set. */
int frame_write(int fd, uint32_t type, uint32_t session, const void *data, uint32_t len);
int frame_write_u32(int fd, uint32_t type, uint32_t session, uint32_t value);

/* An incremental reader: bytes are appended as they arrive and whole frames taken off. */
struct frame_reader {
  unsigned char *buf;
  size_t len, cap;
};

/* Reads what is available from fd into the reader: >0 bytes read, 0 on EOF, -1 on error. */
long frame_fill(struct frame_reader *r, int fd);
/* Takes the next whole frame off the reader: 1 (fills *f), 0 (none yet), -1 (malformed). */
int frame_next(struct frame_reader *r, struct frame *f);
void frame_free(struct frame *f);

uint32_t le32_at(const unsigned char *p);

/* A unix socket address for path. A path too long for sun_path (a state root plus a 64-hex
 * container id, as under berthd) goes through its directory: /proc/self/fd/<dirfd>/<name>, with
 * *dirfd left open for the caller to close after bind/connect (-1 when not needed). */
struct sockaddr_un;
int unix_addr(const char *path, struct sockaddr_un *a, int *dirfd);

#endif
