"""``python -m bench [NAME] [ARGS...]`` (``make bench``): the benchmarks, each against its peer.

With no NAME every benchmark runs at its default size. NAME is a module of this package
(``imports``, ``load``, ...); each has ``main(argv) -> int``. See bench/README.md.
"""

import importlib
import pkgutil
import sys
from pathlib import Path


def names() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    if argv and not argv[0].startswith("-"):
        if argv[0] not in names():
            print(f"unknown benchmark {argv[0]!r}; known: {', '.join(names())}", file=sys.stderr)
            return 2
        return importlib.import_module(f"bench.{argv[0]}").main(argv[1:])
    if argv:  # flags only: the import benchmark, as before
        return importlib.import_module("bench.imports").main(argv)
    for name in names():
        print(f"== bench {name}", flush=True)
        code = importlib.import_module(f"bench.{name}").main([])
        if code:
            return code
    return 0


sys.exit(main(sys.argv[1:]))
