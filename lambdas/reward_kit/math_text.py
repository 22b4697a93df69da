"""The text side of the ``math`` grader: what math-verify must never be handed as mathematics.

Words outside ``\\text{...}`` (math-verify reads ``forty two`` as a product of letters that any
anagram matches), digits joined by whitespace (two numbers, never one), LaTeX thousands
separators, and the words of an answer that is words (``x = \\text{forty two}``).
Plain ``re`` on short strings: the patterns are fixed and bounded.
"""

from __future__ import annotations

import re

# Two digits with only whitespace between them: two numbers, never one (and never their sum).
_WHITESPACE_BETWEEN_DIGITS = re.compile(r"\d\s+\d")
# A LaTeX thin space (or {,}) between digit groups is a thousands separator: 10\,000.
_LATEX_GROUP_SEPARATOR = re.compile(r"(?<=\d)(?:\\[,;: ]|\{,\})(?=\d{3}(?!\d))")
# A \text-like group (its content captured): not words of prose, but the words of a word answer.
_TEXT_GROUP = re.compile(
    r"\\(?:text|textbf|textit|textrm|texttt|mathrm|mathbf|mathit|mbox|operatorname)\s{0,16}\{([^{}]{0,1000})\}"
)
_COMMAND = re.compile(r"\\[A-Za-z]+")
# LaTeX environments (matrices, arrays, cases) are mathematics: their names and an array's
# column spec ("{c|ccc}") are not words of prose.
# Subscripts name things (S_{MBCN}, V_{1}): their letters are not words of prose.
_SUBSCRIPT = re.compile(r"_\s{0,4}\{[^{}]{0,64}\}")
_ENVIRONMENT = re.compile(r"\\(?:begin|end)\s{0,16}\{[A-Za-z*]{1,32}\}(?:\s{0,16}\{[lcrp|{}0-9.\s]{0,64}\})?")
# Math delimiters in a reference text: only what is inside them is read as mathematics.
_MATH_SPAN = re.compile(r"\$\$?([^$]{1,2000})\$\$?|\\\((.{1,2000}?)\\\)|\\\[(.{1,2000}?)\\\]", re.DOTALL)
_LETTER_RUN = re.compile(r"[^\W\d_]+")
# The words (two letters or more) an answer is made of.
_WORD = re.compile(r"[^\W\d_]{2,}")
# Names written without a backslash that are still mathematics (and connectives math-verify reads).
_MATH_NAMES = (
    "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "sin", "cos", "tan", "cot", "sec", "csc",
    "log", "ln", "lg", "exp", "sqrt", "max", "min", "gcd", "lcm", "mod", "det", "dim", "deg", "lim",
    "inf", "sup", "pi", "and", "or",
)


def looks_like_prose(text: str) -> bool:
    """True for text written in words (``forty two``, ``Monday``), which math-verify would read
    as a product of letters (so any anagram would match). Words inside ``\\text{...}`` and
    LaTeX commands are fine; so are variables and products of one or two letters. When the
    text has math delimiters (``The answer is $\\frac{1}{2}$.``) only what they hold counts:
    math-verify reads only that."""
    spans = ["".join(groups) for groups in _MATH_SPAN.findall(text)]
    if spans:
        text = " ".join(spans)
    plain = _COMMAND.sub(" ", _TEXT_GROUP.sub(" ", _SUBSCRIPT.sub(" ", _ENVIRONMENT.sub(" ", text))))
    long_runs = 0
    for run in _LETTER_RUN.findall(plain):
        word = run.lower()
        if len(word) <= 2 or word in _MATH_NAMES:
            continue
        if any(word.startswith(name) and len(word) - len(name) <= 2 for name in _MATH_NAMES):
            continue  # sinx, logab: a function applied to a variable
        long_runs += 1
    return long_runs > 0


def joins_numbers(text: str) -> bool:
    return _WHITESPACE_BETWEEN_DIGITS.search(text) is not None


def latex_groups(text: str) -> str:
    return _LATEX_GROUP_SEPARATOR.sub("", text) if "\\" in text or "{," in text else text


def text_words(text: str) -> tuple[str, ...]:
    return tuple(word.casefold() for group in _TEXT_GROUP.findall(text) for word in _WORD.findall(group))


def same_words(gold_text: str, pred_text: str) -> bool:
    """The answer's words are the reference's, in order (case aside): for a reference whose answer
    is words (``x = \\text{forty two}``, of which math-verify keeps only ``x =``), so that an
    answer parsing to the same remainder (``x = \\text{two forty}``, ``x =``) is not enough."""
    gold_words = text_words(gold_text)
    if not gold_words:
        return True
    pred_words = text_words(pred_text) or tuple(word.casefold() for word in _WORD.findall(_COMMAND.sub(" ", pred_text)))
    return pred_words == gold_words
