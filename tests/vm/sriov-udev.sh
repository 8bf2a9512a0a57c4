#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# make check-sriov, second run: sriov.sh's steps with systemd-udevd in the
# guest, so vfo-hostd follows udevd's events (not the kernel's) and the PF
# is named by udev, renamed again after its driver is bound back.
VFO_SRIOV_UDEV=1 exec bash "$(dirname "$0")/sriov.sh" "$@"
