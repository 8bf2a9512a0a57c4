/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pinning a guest's MAC to its standby's port on a bridge, for as long as
 * QEMU announces the guest after an incoming migration.
 *
 * QEMU sends its RARP announcements from every emulated NIC of the guest,
 * so an emulated stand-in VF plugged while they run makes the bridge learn
 * the guest's MAC on the stand-in's tap, whose NIC the guest does not use
 * yet: the guest's traffic goes nowhere until its bond moves. A sticky
 * static FDB entry on the standby's tap keeps learning from moving the
 * MAC; removing it afterwards hands the entry back to learning. A real VF
 * is no QEMU NIC and needs none of this.
 */
#ifndef VFO_FDB_H
#define VFO_FDB_H

/* Pin mac ("aa:bb:cc:dd:ee:ff") to bridge port `port` (a tap on a bridge).
 * 0 or -errno (-ENODEV: no such port). */
int vfo_fdb_pin(const char *port, const char *mac);
/* Remove mac's entry if it still points to port, pinned or learnt: the
 * bridge floods the guest's traffic until it learns the MAC again, which
 * loses nothing. 0 also when there was none (or the port is gone). */
int vfo_fdb_unpin(const char *port, const char *mac);

#endif
