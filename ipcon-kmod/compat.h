/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel version differences, force-included into every ipcon object
 * (see Kbuild). The .c files use one API; whatever a supported kernel lacks
 * is provided here, so #if stays out of them.
 *
 * Supported kernels: 6.1 up to and including 6.12. Every interface ipcon
 * uses (genetlink with genl_small_ops, strict policy validation with
 * resv_start_op, GENL_REQ_ATTR_CHECK, the netlink notifier, net_generic)
 * is the same across that range, so this file only carries fallbacks for
 * helpers that some point releases may lack. Kernels before 6.1 fail to
 * build (no genl_family.resv_start_op), which is intended.
 *
 * Tests here are on the feature (#ifndef), not on LINUX_VERSION_CODE, so
 * they also hold for distribution kernels with backports.
 */
#ifndef _IPCON_COMPAT_H
#define _IPCON_COMPAT_H

#include <net/genetlink.h>

/* Reports a missing request attribute; upstream since 6.1. */
#ifndef GENL_REQ_ATTR_CHECK
#define GENL_REQ_ATTR_CHECK(info, attr) ({				\
	struct genl_info *__info = (info);				\
	bool __missing = !__info->attrs[(attr)];			\
									\
	if (__missing)							\
		NL_SET_ERR_MSG_MOD(__info->extack,			\
				   "missing required attribute");	\
	__missing;							\
})
#endif

#endif /* _IPCON_COMPAT_H */
