/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a domain wants from vfo travels in its own XML, so libvirt carries it
 * across a migration and the destination knows what to plug:
 *
 *   <metadata>
 *     <vfo:failover xmlns:vfo="http://vfo.dev/xmlns/failover/1">
 *       <vfo:pair id="net0" mac="52:54:00:12:34:56" pool="physnet1"
 *                 standby="ua-standby0" vlan="100"/>
 *     </vfo:failover>
 *   </metadata>
 *
 * Each pair's VF is the <interface> whose alias is "ua-vfo-<id>" (an
 * `ua-` user alias, so libvirt keeps it across hot-plug and migration);
 * the standby is the virtio-net <interface> with alias `standby`. The guest
 * channel is the <channel type='unix'> whose target name is
 * org.vfo.guest.0.
 *
 * Pure XML work on strings (libxml2), no libvirt calls: the hook uses the
 * same code on the XML libvirt hands it on stdin, where calling libvirt
 * would deadlock.
 */
#ifndef VFO_META_H
#define VFO_META_H

#include <stdbool.h>
#include <stddef.h>

#define VFO_META_NS "http://vfo.dev/xmlns/failover/1"
#define VFO_META_PREFIX "vfo"
#define VFO_META_MAX_PAIRS 8
#define VFO_META_CHANNEL "org.vfo.guest.0"
#define VFO_META_VF_ALIAS_PREFIX "ua-vfo-"

enum vfo_meta_vf_kind {
	VFO_META_VF_NONE = 0,
	VFO_META_VF_HOSTDEV, /* <interface type='hostdev'>: a real VF */
	VFO_META_VF_BRIDGE, /* <interface type='bridge'>: emulated stand-in */
};

struct vfo_meta_pair {
	char id[32]; /* [A-Za-z0-9_-], unique in the domain */
	char mac[18]; /* lower case aa:bb:cc:dd:ee:ff */
	char pool[64];
	char standby[64]; /* alias of the virtio-net standby */
	int vlan; /* -1: none */
	char vf_alias[64]; /* "ua-vfo-<id>" */
	/* The VF interface as found in the XML, if any. */
	enum vfo_meta_vf_kind vf_kind;
	char vf_pci[16]; /* hostdev source "dddd:bb:ss.f", "" otherwise */
	bool vf_teaming; /* <teaming type='transient'> on the VF, or QEMU's
			    failover primary (failover_pair_id override) */
	bool standby_present;
};

struct vfo_meta {
	char name[256];
	char uuid[37];
	char channel_path[256]; /* UNIX socket of org.vfo.guest.0, "" if none */
	bool teaming; /* standby has <teaming type='persistent'/> */
	size_t n_pairs;
	struct vfo_meta_pair pairs[VFO_META_MAX_PAIRS];
};

/*
 * Parse a domain's XML. Returns 0; -ENODATA when the domain carries no vfo
 * metadata (not ours: ignore it); -EBADMSG for XML that does not parse or
 * metadata that is invalid (err says what, for the log and the hook's
 * refusal).
 */
int vfo_meta_parse(const char *xml, size_t len, struct vfo_meta *m, char *err, size_t errlen);

const struct vfo_meta_pair *vfo_meta_find_pair(const struct vfo_meta *m, const char *id);

/* Refresh p's VF fields (vf_kind, vf_pci, vf_teaming, standby_present)
 * from a domain's XML, for the pair p describes (its vf_alias and
 * standby): 1 when its VF interface is there, hostdev or emulated, 0 when
 * not, -EBADMSG for XML that does not parse. */
int vfo_meta_pair_vf(const char *xml, size_t len, struct vfo_meta_pair *p);

/* Where the standby with user alias `alias` meets the host, from a live
 * domain XML: the tap libvirt made for it (<target dev>) and the bridge
 * it is on (<source bridge>). 0; -ENOENT when it is no bridge interface
 * or either is missing (an inactive XML has no tap). */
int vfo_meta_standby_port(const char *xml, size_t len, const char *alias, char *dev, size_t devlen,
			  char *bridge, size_t brlen);

/* The domain XML without pair id's VF interface, or without every pair's
 * when id is NULL (the XML a migration may carry: a VF cannot migrate).
 * *out is malloc'd. 0 or -errno. */
int vfo_meta_strip_vfs(const char *xml, size_t len, const char *id, char **out);

/* Point the hostdev VF of pair id at a local PCI address (libvirt <teaming>
 * mode, where QEMU unplugs by itself and the destination needs its own VF).
 * -ENOENT when the pair has no hostdev VF in the XML. */
int vfo_meta_set_vf_source(const char *xml, size_t len, const char *id, const char *pci,
			   char **out);

/* The <vfo:failover> element for virDomainSetMetadata(). */
int vfo_meta_format(const struct vfo_meta *m, char **out);

/* A pair id: 1-31 of [A-Za-z0-9_-]. MACs and PCI addresses are checked
 * with domxml.h's vfo_xml_mac_valid() and vfo_pci_addr_parse(). */
bool vfo_meta_id_valid(const char *id);

#endif
