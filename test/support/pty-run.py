#!/usr/bin/env python3
# Runs a command on a new pseudo-terminal for the streaming tests' local backend:
#   pty-run.py ROWS COLS CMD...
# stdin goes to the terminal (EOF becomes ^D), the terminal's output to stdout, and lines
# "ROWS COLS" on fd 3 resize it (the kernel then sends the command SIGWINCH). Exits with the
# command's status.
import fcntl, os, select, struct, sys, termios

def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))

rows, cols, cmd = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
master, slave = os.openpty()
set_size(slave, rows, cols)
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.closerange(3, 256)
    os.execvp(cmd[0], cmd)
os.close(slave)

# Sizes first: a resize sent before some input is applied before the input is typed.
inputs = [3, 0, master]
control = b''
while master in inputs:
    ready, _, _ = select.select(inputs, [], [])
    for fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if fd == master:
            if not data:
                inputs.remove(master)
            else:
                os.write(1, data)
        elif fd == 0:
            if not data:
                inputs.remove(0)
                os.write(master, b'\x04')
            else:
                os.write(master, data)
        else:
            if not data:
                inputs.remove(3)
                continue
            control += data
            while b'\n' in control:
                line, control = control.split(b'\n', 1)
                r, c = line.split()
                set_size(master, int(r), int(c))

_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) & 0xff)
