// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Run a command as a child subreaper and reap orphans at once.
 *
 * libvirt double-forks QEMU, so QEMU's parent becomes the nearest subreaper
 * or PID 1. On the test machine PID 1 reaps only every 1-2 s, which adds
 * that much to every migrate and destroy; running libvirtd under this tool
 * makes those exits prompt. Signals sent to us are forwarded to the child.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t child_pid;

static void forward(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

int main(int argc, char **argv)
{
	int status = 0, rc = 0;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: vfo-subreaper COMMAND [ARG...]\n");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		perror("vfo-subreaper: PR_SET_CHILD_SUBREAPER");
		return 1;
	}
	signal(SIGTERM, forward);
	signal(SIGINT, forward);
	signal(SIGHUP, forward);
	pid = fork();
	if (pid < 0) {
		perror("vfo-subreaper: fork");
		return 1;
	}
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		execvp(argv[1], argv + 1);
		fprintf(stderr, "vfo-subreaper: exec %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	child_pid = pid;
	/* Reap everything; leave once the direct child and all orphans are gone. */
	for (;;) {
		pid_t p = wait(&status);

		if (p < 0) {
			if (errno == EINTR)
				continue;
			break; /* ECHILD: nobody left */
		}
		if (p == pid)
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	return rc;
}
