"""Write (or check) tests/public_api.txt: every public name of every embedlab module.

A name is public when it is defined at the top level of its module (a ``def``, a ``class`` or an
assignment, not an import) and does not start with ``_``. A public class also lists its public
methods and properties (and ``__call__``), as ``module.Class.name``. The file is what the chapters and readers'
notebooks may import; ``tests/test_api.py`` fails when the package and the file disagree, so a
name changes only deliberately: change the package, run ``python tools/public_api.py --write``,
and commit both.

Usage: python tools/public_api.py [--write]
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
API_FILE = ROOT / "tests" / "public_api.txt"
HEADER = (
    "# Every public name of embedlab, module by module in the declared order (embedlab.MODULES).\n"
    "# Written by `python tools/public_api.py --write`; tests/test_api.py compares it with the package.\n"
)


def declared_modules() -> tuple[str, ...]:
    """``embedlab.MODULES``, read from the source without importing the package."""
    tree = ast.parse((ROOT / "embedlab" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "MODULES" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise ValueError("embedlab/__init__.py declares no MODULES tuple")


def _public(name: str) -> bool:
    return not name.startswith("_")


def _public_member(name: str) -> bool:
    return _public(name) or name == "__call__"  # a collate object is called: that is its API


def module_names(module: str) -> list[str]:
    """The public names one module defines, and its public classes' public methods."""
    tree = ast.parse((ROOT / "embedlab" / f"{module}.py").read_text(encoding="utf-8"))
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _public(node.name):
            names.append(f"{module}.{node.name}")
        elif isinstance(node, ast.ClassDef) and _public(node.name):
            names.append(f"{module}.{node.name}")
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and _public_member(item.name):
                    names.append(f"{module}.{node.name}.{item.name}")
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and _public(target.id) and target.id != "__all__":
                    names.append(f"{module}.{target.id}")
    return names


def public_api() -> list[str]:
    """Every public name, module by module in the declared order."""
    return [name for module in declared_modules() for name in module_names(module)]


def render() -> str:
    return HEADER + "".join(f"{name}\n" for name in public_api())


def main(argv: list[str]) -> int:
    text = render()
    if argv == ["--write"]:
        API_FILE.write_text(text, encoding="utf-8")
        print(f"wrote {API_FILE.relative_to(ROOT)}: {len(public_api())} names")
        return 0
    if argv:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    same = API_FILE.is_file() and API_FILE.read_text(encoding="utf-8") == text
    print("tests/public_api.txt is up to date" if same else "tests/public_api.txt differs: run with --write")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
