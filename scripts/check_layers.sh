#!/usr/bin/env bash
# The folders are the architecture: kernels/ computes on arrays and includes
# neither io/, pipeline/ nor file-format libraries; io/ parses and writes and
# includes neither kernels/ nor pipeline/. Fails naming the offending lines.
set -uo pipefail
cd "$(dirname "$0")/.."
bad=0
k=$(grep -nE '#include *[<"](hdf5|H5[A-Za-z]*|gps|proj|readosm|ini|mpi|expat)\.h|#include *"(\.\./)?(io|pipeline)/|#include *"(dl_io|dl_lines|dl_cli|dl_params)\.h"' -r kernels --include='*.[ch]' 2>/dev/null)
[ -n "$k" ] && { echo "layering: kernels/ reaches into I/O or the pipeline:"; echo "$k"; bad=1; }
i=$(grep -nE '#include *"(\.\./)?(kernels|pipeline)/|#include *"(dl_cli|dl_params)\.h"' -r io --include='*.[ch]' 2>/dev/null)
[ -n "$i" ] && { echo "layering: io/ includes kernels/ or pipeline/:"; echo "$i"; bad=1; }
[ $bad -eq 0 ] && echo "layering: ok" >&2
exit $bad
