/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internals shared by the netlink module's files (netlink.c, nl-msg.c,
 * nl-sysfs.c) and their unit tests. Nothing outside common/nl*.c and
 * tests/ includes this.
 */
#ifndef VFO_NL_PRIV_H
#define VFO_NL_PRIV_H

#include "netlink.h"

/* Look through a received datagram for the answer to request (seq, portid).
 * Returns 1 and sets *err (0 or -errno from NLMSG_ERROR) when the ACK is
 * there, 0 when the datagram holds only other messages (stale replies to
 * an earlier, timed-out request), -EBADMSG when it is malformed. When
 * the kernel explained an error (extended ACK), the text goes into msg
 * (may be NULL); else msg is "". */
int vfo_nl_msg_find_ack(const void *buf, size_t len, uint32_t seq, uint32_t portid, int *err,
			char *msg, size_t msglen);

/* sysfs / ethtool enrichment (nl-sysfs.c). */
/* Fill link->driver and link->pci_addr from <sysfs_root>/class/net/NAME.
 * Missing device links are not errors (virtual devices have none).
 * Returns 0, or -errno for an unreadable tree. */
int vfo_nl_sysfs_fill(const char *sysfs_root, struct vfo_nl_link *link);
/* Permanent MAC through the SIOCETHTOOL ETHTOOL_GPERMADDR ioctl. Sets
 * *addr_len to 0 when the device reports none. Returns 0 or -errno. */
int vfo_nl_ethtool_perm_addr(const char *ifname, uint8_t *addr, size_t addr_max, uint8_t *addr_len);

#endif
