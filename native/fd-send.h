#ifndef BERTH_FD_SEND_H
#define BERTH_FD_SEND_H

#include <stddef.h>
#include <sys/types.h>

/* Sends `len` bytes of `data` over the unix socket `sock` as one message, with `fd` attached
 * (SCM_RIGHTS) unless it is negative; EINTR is retried, SIGPIPE never raised. sendmsg's result. */
ssize_t send_with_fd(int sock, const void *data, size_t len, int fd);

#endif
