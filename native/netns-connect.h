#ifndef BERTH_NETNS_CONNECT_H
#define BERTH_NETNS_CONNECT_H

/* berth-spawn --netns-connect <netns-path> <port> <fd> [timeout-ms]: joins the network namespace,
 * connects to 127.0.0.1:<port> (then [::1]:<port>, each within the timeout, 10 s) and sends the connected socket over the unix socket <fd>.
 * Returns an exit code. */
int netns_connect_main(int argc, char **argv);

#endif
