#ifndef BERTH_CONSOLE_RELAY_H
#define BERTH_CONSOLE_RELAY_H

/* Serves one console socket and relays the received pty to stdin/stdout. Returns an exit code. */
int console_relay(const char *socket_path);

#endif
