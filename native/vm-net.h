#ifndef BERTH_VM_NET_H
#define BERTH_VM_NET_H

#include <stddef.h>

/* Configures lo and the interface named by the "mac" line from F_NET's text (modified in
 * place). 0, or an errno with what failed in err. */
int net_configure(char *text, char *err, size_t cap);

#endif
