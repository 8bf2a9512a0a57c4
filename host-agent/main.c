// SPDX-License-Identifier: LGPL-2.1-or-later
/* vfo-hostd: command line, logging, and the daemon's life cycle. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostd.h"
#include "log.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vfo-hostd [-c CONFIG] [-f] [-d]\n"
		"\n"
		"  -c, --config FILE  configuration (default %s)\n"
		"  -f, --foreground   log to stderr as plain text\n"
		"  -d, --debug        log at debug level\n"
		"  -h, --help         this text\n"
		"  -V, --version      print the version\n",
		VFO_HOSTD_CONF_PATH);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct vfo_hostd_opts o = { .config_path = VFO_HOSTD_CONF_PATH };
	struct vfo_hostd h;
	int c, r;

	while ((c = getopt_long(argc, argv, "c:fdhV", lopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.config_path = optarg;
			break;
		case 'f':
			o.foreground = true;
			break;
		case 'd':
			o.debug = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vfo-hostd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	vfo_log_init("vfo-hostd", o.foreground ? VFO_LOG_TARGET_STDERR : VFO_LOG_TARGET_AUTO,
		     o.debug ? VFO_LOG_DEBUG : VFO_LOG_INFO);
	r = vfo_hostd_init(&h, &o);
	if (r < 0) {
		vfo_err("hostd", "startup failed: %s", strerror(-r));
		vfo_log_fini();
		return 1;
	}
	r = vfo_hostd_run(&h);
	vfo_hostd_fini(&h);
	vfo_notice("hostd", "stopped");
	vfo_log_fini();
	return r < 0 ? 1 : 0;
}
