#ifndef BERTH_CONSOLE_RELAY_H
#define BERTH_CONSOLE_RELAY_H

/* Serves one console socket and relays the received pty to stdin/stdout. Returns an exit code. */
int console_relay(const char *socket_path);

/* A listening socket for the console-socket protocol at `path`; -1 with errno. */
int console_listen(const char *path);

/* Accepts the runtime's connection, receives the pty master (SCM_RIGHTS), closes the listening
 * socket and removes `path`; the master fd, or -1 with errno. */
int console_accept_master(int ls, const char *path);

#endif
