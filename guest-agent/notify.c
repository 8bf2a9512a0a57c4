// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Peer notifications on demand: a gratuitous ARP for each IPv4 address
 * and an unsolicited neighbour advertisement for each IPv6 address of a
 * bond. Bonding sends its own (num_peer_notif) when the active slave
 * changes; these are the extra ones the agent sends when the host says a
 * VF is leaving, or after a surprise removal, so that the switch (here the
 * host bridge) re-learns the MAC on the standby's port at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/ethernet.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <string.h>
#include <sys/socket.h>

#include "guestd.h"
#include "log.h"

#define COMP "notify"

struct arp_pkt {
	struct arphdr h;
	uint8_t sha[6];
	uint8_t sip[4];
	uint8_t tha[6];
	uint8_t tip[4];
} __attribute__((packed));

static int send_garp(int fd, int ifindex, const uint8_t mac[6], const uint8_t ip[4])
{
	struct sockaddr_ll to = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ARP),
		.sll_ifindex = ifindex,
		.sll_halen = 6,
		.sll_addr = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	};
	struct arp_pkt p = {
		.h = { htons(ARPHRD_ETHER), htons(ETH_P_IP), 6, 4, htons(ARPOP_REQUEST) },
	};

	memcpy(p.sha, mac, 6);
	memcpy(p.sip, ip, 4);
	memcpy(p.tip, ip, 4);
	if (sendto(fd, &p, sizeof(p), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	return 0;
}

struct na_pkt {
	struct nd_neighbor_advert na;
	struct nd_opt_hdr opt;
	uint8_t mac[6];
} __attribute__((packed));

static int send_na(int fd, int ifindex, const uint8_t mac[6], const uint8_t ip[16])
{
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_scope_id = (uint32_t)ifindex };
	struct na_pkt p;

	memset(&p, 0, sizeof(p));
	p.na.nd_na_type = ND_NEIGHBOR_ADVERT;
	p.na.nd_na_flags_reserved = ND_NA_FLAG_OVERRIDE;
	memcpy(&p.na.nd_na_target, ip, 16);
	p.opt.nd_opt_type = ND_OPT_TARGET_LINKADDR;
	p.opt.nd_opt_len = 1;
	memcpy(p.mac, mac, 6);
	inet_pton(AF_INET6, "ff02::1", &to.sin6_addr);
	if (sendto(fd, &p, sizeof(p), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	return 0;
}

static int open_na_socket(int ifindex)
{
	int fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	int hops = 255;

	if (fd < 0)
		return -errno;
	/* Receivers drop NAs with a hop limit below 255 (RFC 4861). */
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int vfo_notify_peers(struct vfo_nl *nl, int ifindex)
{
	struct vfo_nl_addr *a = NULL;
	struct vfo_nl_link l;
	size_t n = 0, i;
	int fd4 = -1, fd6 = -1, sent = 0, ret;

	ret = vfo_nl_link_get(nl, ifindex, NULL, &l);
	if (ret)
		return ret;
	if (l.addr_len != 6 || !(l.flags & IFF_UP))
		return 0;
	ret = vfo_nl_addr_dump(nl, AF_UNSPEC, &a, &n);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		if (a[i].ifindex != ifindex)
			continue;
		if (a[i].family == AF_INET) {
			if (fd4 < 0)
				fd4 = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC,
					     htons(ETH_P_ARP));
			ret = fd4 < 0 ? -errno :
					send_garp(fd4, ifindex, l.addr,
						  a[i].has_local ? a[i].local : a[i].address);
		} else if (a[i].family == AF_INET6) {
			if (fd6 < 0)
				fd6 = open_na_socket(ifindex);
			ret = fd6 < 0 ? fd6 : send_na(fd6, ifindex, l.addr, a[i].address);
		} else {
			continue;
		}
		if (ret)
			vfo_dbg(COMP, "%s: %s", l.name, strerror(-ret));
		else
			sent++;
	}
	free(a);
	vfo_close(&fd4);
	vfo_close(&fd6);
	return sent;
}
