// SPDX-License-Identifier: LGPL-2.1-or-later
/* vfo-hostd's side of a migration worker: start it, collect its verdict.
 * No libvirt here: the worker is vfo-virt-helper --migrate-worker. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "virt.h"

int vfo_virt_migrate_spawn(const char *worker_exe, const char *uri, const char *uuid,
			   const char *dest_uri, bool p2p, const char *dest_xml,
			   struct vfo_virt_migration *out)
{
	char fdarg[16];
	int pipefd[2], xmlfd;
	pid_t pid;

	/* The XML may be larger than one argv string may be: hand it over in
	 * a memfd the worker inherits. */
	xmlfd = memfd_create("vfo-dest-xml", 0);
	if (xmlfd < 0)
		return -errno;
	if (dest_xml && write(xmlfd, dest_xml, strlen(dest_xml)) != (ssize_t)strlen(dest_xml)) {
		close(xmlfd);
		return -EIO;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		close(xmlfd);
		return -errno;
	}
	snprintf(fdarg, sizeof(fdarg), "%d", xmlfd);
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(xmlfd);
		close(pipefd[0]);
		close(pipefd[1]);
		return err;
	}
	if (pid == 0) {
		sigset_t all;

		/* The loop blocked its signals; the worker wants defaults. */
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		/* Its own session: a SIGTERM to vfo-hostd's group must not
		 * kill a running migration. */
		setsid();
		if (dup2(pipefd[1], STDOUT_FILENO) < 0)
			_exit(127);
		execl(worker_exe, worker_exe, "--migrate-worker", uri, uuid, dest_uri,
		      p2p ? "p2p" : "direct", fdarg, (char *)NULL);
		_exit(127);
	}
	close(xmlfd);
	close(pipefd[1]);
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	out->pid = pid;
	out->fd = pipefd[0];
	return 0;
}

int vfo_virt_migration_result(struct vfo_virt_migration *m, char *err, size_t errlen)
{
	char buf[1024];
	size_t len = 0;
	ssize_t n;
	int status;

	for (;;) {
		n = read(m->fd, buf + len, sizeof(buf) - 1 - len);
		if (n > 0) {
			len += (size_t)n;
			if (len == sizeof(buf) - 1)
				break;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && len == 0)
			return -EAGAIN;
		break;
	}
	buf[len] = '\0';
	close(m->fd);
	m->fd = -1;
	waitpid(m->pid, &status, 0);
	m->pid = 0;
	if (!strncmp(buf, "ok", 2) && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(err, errlen, "%s",
		 !strncmp(buf, "error: ", 7) ? buf + 7 :
		 buf[0]			     ? buf :
					       "migration worker died");
	return -EIO;
}
