// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "fdb.h"
#include "netlink.h"
#include "vfcfg.h"

/* One short-lived request socket per call: a pin is two requests per
 * incoming migration, not worth a socket held open for the daemon's life. */
static int fdb_request(const char *port, const char *mac, bool add)
{
	unsigned int ifindex = if_nametoindex(port);
	struct vfo_nl *nl;
	uint8_t addr[6];
	int r;

	if (!ifindex)
		return -ENODEV;
	if (vfo_mac_parse(mac, addr) < 0)
		return -EINVAL;
	r = vfo_nl_open(&nl, NULL);
	if (r < 0)
		return r;
	r = add ? vfo_nl_fdb_add(nl, (int)ifindex, addr, true) :
		  vfo_nl_fdb_del(nl, (int)ifindex, addr);
	vfo_nl_close(nl);
	return r;
}

int vfo_fdb_pin(const char *port, const char *mac)
{
	return fdb_request(port, mac, true);
}

int vfo_fdb_unpin(const char *port, const char *mac)
{
	int r = fdb_request(port, mac, false);

	return r == -ENOENT || r == -ENODEV ? 0 : r;
}
