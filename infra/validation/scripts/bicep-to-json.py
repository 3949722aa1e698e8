"""Prints the Bicep files named on the command line as one JSON object: {path: tree}.

The tree is pycep-parser's (checkov's own Bicep parser), with two changes that JSON needs:
- pycep returns an identifier (a parameter, variable, resource or property name) and a string
  literal both as a Python string, the identifier as its subclass BicepElement. JSON would lose
  the difference, so an identifier is written as {"identifier": name}, in the style of pycep's own
  {"operator": ...} and {"function": ...} nodes.
- pycep keeps the quotes of a quoted object key ('odata.type'); they are dropped.
String literals stay as written between their quotes: escapes (\\') and ${} interpolations kept.

Run with the interpreter of .tools/infra-venv, which `bash .ci/infra-tools.sh` installs.
"""

import json
import sys
from importlib.metadata import version
from pathlib import Path

from pycep import BicepParser
from pycep.transformer import BicepElement

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements.txt"


def require_pinned_parser():
    """Refuses a venv built from other requirements: the tests are written against the pinned parser's tree."""
    pinned = next(line.split("==")[1].strip() for line in REQUIREMENTS.read_text().splitlines() if line.startswith("pycep-parser=="))
    installed = version("pycep-parser")
    if installed != pinned:
        sys.exit(f"pycep-parser {installed} is in {sys.prefix}, infra/validation/requirements.txt pins {pinned}: run bash .ci/infra-tools.sh")


def to_json_tree(node):
    if isinstance(node, BicepElement):
        return {"identifier": str(node)}
    if isinstance(node, dict):
        return {unquote(key): to_json_tree(value) for key, value in node.items()}
    if isinstance(node, list):
        return [to_json_tree(value) for value in node]
    return node


def unquote(key):
    return key[1:-1] if len(key) >= 2 and key.startswith("'") and key.endswith("'") else key


def parse(parser, path):
    try:
        return to_json_tree(parser.parse(file_path=Path(path)))
    except Exception as error:  # lark's parse errors and pycep's ValueError name no file
        sys.exit(f"{path}: pycep-parser cannot parse it: {type(error).__name__}: {error}")


def main(paths):
    require_pinned_parser()
    parser = BicepParser()
    json.dump({path: parse(parser, path) for path in paths}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
