"""argparse speaking French: its errors and its help headings, for `python -m lakehouse` (what `make` runs).

Errors: argparse's English messages are matched and said in French, in one line starting with
« ERREUR : », followed by where to find the usage; the exit code stays 2. Help: the headings (usage,
positional arguments, options, the -h line) come from `HEADINGS` through argparse's own translation hook.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import NoReturn

HEADINGS = {
    "usage: ": "usage : ",
    "positional arguments": "arguments",
    "options": "options",
    "show this help message and exit": "affiche cette aide et s'arrête",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
}

ERRORS = (
    (
        re.compile(r"argument (?P<arg>\S+): invalid choice: '(?P<value>.*)' \(choose from (?P<choices>.*)\)"),
        "{arg} : « {value} » n'est pas un choix possible (au choix : {choices})",
    ),
    (re.compile(r"the following arguments are required: (?P<args>.*)"), "il manque : {args}"),
    (re.compile(r"unrecognized arguments: (?P<args>.*)"), "arguments inconnus : {args}"),
    (re.compile(r"argument (?P<arg>\S+): expected one argument"), "{arg} attend une valeur"),
    (
        re.compile(r"argument (?P<arg>\S+): invalid (?P<kind>\w+) value: '(?P<value>.*)'"),
        "{arg} : « {value} » n'est pas une valeur valide ({kind} attendu)",
    ),
)
KINDS = {"int": "nombre entier", "float": "nombre"}


def french_error(message: str) -> str:
    """argparse's English error message, in French (unchanged when it is not one argparse writes)."""
    for pattern, text in ERRORS:
        match = pattern.fullmatch(message)
        if match:
            values = {key: KINDS.get(value, value) for key, value in match.groupdict().items()}
            if "choices" in values:
                values["choices"] = values["choices"].replace("'", "")
            return text.format(**values)
    return message


class FrenchArgumentParser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:
        with _french_headings():  # the -h line and the section titles are written here
            super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        print(f"ERREUR : {french_error(message)} ; aide : `make help`, ou `{self.prog} --help`", file=sys.stderr)
        sys.exit(2)

    def format_help(self) -> str:
        with _french_headings():
            return super().format_help()

    def format_usage(self) -> str:
        with _french_headings():
            return super().format_usage()


class _french_headings:  # noqa: N801 (used as a statement: `with _french_headings():`)
    def __enter__(self) -> None:
        self._saved = argparse._
        argparse._ = lambda text: HEADINGS.get(text, text)

    def __exit__(self, *exc: object) -> None:
        argparse._ = self._saved
