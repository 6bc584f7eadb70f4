#ifndef BERTH_LOG_WRITER_H
#define BERTH_LOG_WRITER_H
/* The monitor's CRI log file, rotated at the limits its caller gives; see log-writer.c. */
#include <stddef.h>

/* The most one log_write call takes (the monitor reads its pipes in pieces of this size). */
#define LOG_CHUNK_MAX 65536

struct log_writer {
  const char *path; /* NULL: no log file, nothing is written */
  int fd;
  /* Rotate before a file would exceed this many bytes; 0: never. */
  unsigned long long max_size;
  /* Files kept, the live one included: path, path.1 ... path.<max_files - 1>. */
  int max_files;
  /* Bytes in the live file, the buffered ones included. */
  unsigned long long size;
  size_t len;
  char buf[2 * LOG_CHUNK_MAX];
};

/* Opens (appending to) the live file. -1 with errno on failure. */
int log_open(struct log_writer *w, const char *path, unsigned long long max_size, int max_files);
/* Logs `len` bytes the container wrote on `stream` (0 stdout, 1 stderr): one record per line, the
 * last piece marked partial unless `end_line` (then it ends a line of its own). */
void log_write(struct log_writer *w, int stream, const char *data, size_t len, int end_line);
/* Writes what is buffered. */
int log_flush(struct log_writer *w);
/* Closes the file and opens the path again (it was renamed away: CRI ReopenContainerLog). 0 or an errno. */
int log_reopen(struct log_writer *w);
/* Flushes, syncs and closes. */
void log_close(struct log_writer *w);
/* write(2) until all is written; -1 with errno on failure. */
int write_all(int fd, const char *buf, size_t len);

#endif
