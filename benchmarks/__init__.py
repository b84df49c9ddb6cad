"""skae benchmarks: PCA against the autoencoders, run with ``python -m benchmarks``.

Not part of the installed package and never imported by it. See
``benchmarks/README.md`` for what is measured and how to run it.
"""

# SPDX-License-Identifier: BSD-3-Clause
