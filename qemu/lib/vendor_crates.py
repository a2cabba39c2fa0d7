#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""vendor_crates.py INC CACHE_DIR VENDOR_DIR

Do what bitbake's crate fetcher does for the crate:// entries of a recipe's
crates .inc: fetch each crate (cached in CACHE_DIR), check it against the
sha256 the .inc gives, unpack it into VENDOR_DIR/NAME-VERSION and write the
.cargo-checksum.json cargo's directory source needs. Only the crates listed
in the .inc end up in VENDOR_DIR, so a cargo --frozen build against it
proves the .inc is complete.
"""

import hashlib
import json
import os
import re
import sys
import tarfile
import urllib.request

URL = "https://static.crates.io/crates/{n}/{n}-{v}.crate"


def main():
    inc, cache, vendor = sys.argv[1:4]
    text = open(inc).read()
    crates = re.findall(r"crate://crates\.io/([^/\s]+)/([^\s\\]+)", text)
    sums = dict(re.findall(r'SRC_URI\[([^\]]+)\.sha256sum\] = "([0-9a-f]{64})"', text))
    if not crates:
        sys.exit(f"vendor_crates: no crate:// entry in {inc}")
    os.makedirs(cache, exist_ok=True)
    os.makedirs(vendor, exist_ok=True)
    for name, version in crates:
        key = f"{name}-{version}"
        want = sums.get(key)
        if not want:
            sys.exit(f"vendor_crates: {inc} has no SRC_URI[{key}.sha256sum]")
        path = os.path.join(cache, key + ".crate")
        if not os.path.exists(path):
            with urllib.request.urlopen(URL.format(n=name, v=version), timeout=60) as r:
                data = r.read()
            with open(path + ".part", "wb") as f:
                f.write(data)
            os.replace(path + ".part", path)
        with open(path, "rb") as f:
            have = hashlib.sha256(f.read()).hexdigest()
        if have != want:
            sys.exit(f"vendor_crates: {key}: sha256 {have}, the .inc says {want}")
        with tarfile.open(path) as tar:
            # The sha256 matched: this is the published crate. The "data"
            # filter (Python 3.11.4+) also refuses odd members.
            if hasattr(tarfile, "data_filter"):
                tar.extractall(vendor, filter="data")
            else:
                tar.extractall(vendor)
        with open(os.path.join(vendor, key, ".cargo-checksum.json"), "w") as f:
            json.dump({"files": {}, "package": have}, f)
    print(f"vendored {len(crates)} crates from {os.path.basename(inc)}")


if __name__ == "__main__":
    main()
