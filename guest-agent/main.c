// SPDX-License-Identifier: LGPL-2.1-or-later
/* vfo-guestd: keep each VF and its virtio-net standby in a bond. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "guestd.h"
#include "log.h"
#include "systemd.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vfo-guestd [-c CONFIG] [-f] [-d] [--version]\n"
		"  -c, --config FILE  configuration (default %s)\n"
		"  -f, --foreground   log to stderr as plain text\n"
		"  -d, --debug        debug logging\n"
		"  -q, --query JSON   send one request to the running agent's\n"
		"                     control socket, print the reply, exit\n"
		"  -h, --help         this text\n"
		"      --version      print the version and exit\n",
		VFO_GUESTD_CONF);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "query", required_argument, NULL, 'q' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = VFO_GUESTD_CONF, *query = NULL;
	bool conf_given = false, fg = false, debug = false;
	struct vfo_guest_cfg cfg;
	static struct vfo_guestd gd;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "c:fdhq:", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			conf = optarg;
			conf_given = true;
			break;
		case 'f':
			fg = true;
			break;
		case 'd':
			debug = true;
			break;
		case 'q':
			query = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vfo-guestd %s (protocol %d)\n", PACKAGE_VERSION, VFO_PROTO_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	vfo_log_init("vfo-guestd", fg ? VFO_LOG_TARGET_STDERR : VFO_LOG_TARGET_AUTO, VFO_LOG_INFO);
	vfo_guest_cfg_default(&cfg);
	ret = vfo_guest_cfg_load(&cfg, conf, conf_given, NULL, NULL);
	if (ret) {
		vfo_err("main", "%s: configuration refused", conf);
		return 1;
	}
	vfo_log_set_level(debug ? VFO_LOG_DEBUG : cfg.log_level);
	if (query) {
		ret = vfo_gctl_query(cfg.ctl_socket, query, 5000);
		if (ret && ret != -EREMOTEIO)
			vfo_err("main", "%s: %s", cfg.ctl_socket, strerror(-ret));
		return ret ? 1 : 0;
	}

	ret = vfo_guestd_init(&gd, &cfg);
	if (ret) {
		vfo_err("main", "cannot start: %s", strerror(-ret));
		return 1;
	}
	/* READY=1 comes from the agent itself, once its pairs are set up. */
	vfo_notice("main", "vfo-guestd %s running", PACKAGE_VERSION);
	ret = vfo_guestd_run(&gd);
	vfo_sd_stopping();
	vfo_notice("main", "stopping%s", ret ? " after a loop failure" : "");
	vfo_guestd_fini(&gd);
	vfo_log_fini();
	return ret ? 1 : 0;
}
