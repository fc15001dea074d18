/*
 * Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at
 *
 *      http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
 * License for the specific language governing permissions and limitations
 * under the License.
 *
 * novadocker-hold FIFO PROGRAM [ARG...]
 *
 * The first program of a container that has Neutron ports: it waits until
 * the host has wired the container's network namespace, which nova-compute
 * tells it by writing one byte into FIFO, then executes PROGRAM with its
 * arguments unchanged (PATH lookup as execvp does), so the workload keeps
 * PID 1, its environment, its file descriptors and its exit status.
 *
 * Built static by novadocker-build-hold (Debian's gcc and libc6-dev), and
 * bind-mounted read-only into each such container.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static void say(const char *what, const char *arg)
{
    const char *reason = strerror(errno);

    /* Best effort: nothing more to do when stderr is gone. */
    if (write(2, "novadocker-hold: ", 17) < 0 ||
        write(2, what, strlen(what)) < 0 ||
        write(2, arg, strlen(arg)) < 0 ||
        write(2, ": ", 2) < 0 ||
        write(2, reason, strlen(reason)) < 0 ||
        write(2, "\n", 1) < 0)
        return;
}

static void stopped(int signo)
{
    /* Stopped before the network was ready: exit as a killed program. */
    _exit(128 + signo);
}

int main(int argc, char **argv)
{
    char byte;
    ssize_t got = 0;
    int fd;

    if (argc < 3) {
        errno = EINVAL;
        say("usage: novadocker-hold FIFO PROGRAM [ARG...]", "");
        return 127;
    }
    /* As PID 1, a signal without a handler would be ignored. */
    signal(SIGTERM, stopped);
    signal(SIGINT, stopped);
    while (got != 1) {
        fd = open(argv[1], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            say("cannot open ", argv[1]);
            return 127;
        }
        do
            got = read(fd, &byte, 1);
        while (got < 0 && errno == EINTR);
        close(fd);
    }
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    execvp(argv[2], argv + 2);
    say("cannot execute ", argv[2]);
    return errno == ENOENT ? 127 : 126;
}
