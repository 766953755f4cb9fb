"""What a short line states: its numbers, months and names (#19).

Templated lines (`Publié le 8 janvier 2023 par Élise`) share most of their shingles with
every other post's and still say something else: two lines that state other facts are
not duplicates (`differ`), and a child a near duplicate's survivor only nearly repeats
stays when it states a fact the survivor lacks (`states_more`).
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import xxhash
from rapidfuzz.distance import OSA

from dedup.native import native

#: Month names, January first, in the languages of most European web text (French and
#: Portuguese also without accents; Polish, Czech, Russian and Ukrainian as a date writes
#: them, and alone): a date that changes its month is another date.  Most of these
#: languages write months in lower case, and German's follow a day's dot, so no rule for
#: names sees them (#19).
_MONTH_NAMES = (
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre",
    "january february march april may june july august september october november december",
    "januar februar märz april mai juni juli august september oktober november dezember",
    "jänner februar maerz april mai juni juli august september oktober november dezember",
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "enero febrero marzo abril mayo junio julio agosto setiembre octubre noviembre diciembre",
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
    "janeiro fevereiro marco abril maio junho julho agosto setembro outubro novembro dezembro",
    "januari februari maart april mei juni juli augustus september oktober november december",
    "januari februari mars april maj juni juli augusti september oktober november december",
    "januar februar marts april maj juni juli august september oktober november december",
    "januar februar mars april mai juni juli august september oktober november desember",
    "stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października "
    "listopada grudnia",
    "styczeń luty marzec kwiecień maj czerwiec lipiec sierpień wrzesień październik listopad "
    "grudzień",
    "ledna února března dubna května června července srpna září října listopadu prosince",
    "leden únor březen duben květen červen červenec srpen září říjen listopad prosinec",
    "января февраля марта апреля мая июня июля августа сентября октября ноября декабря",
    "январь февраль март апрель май июнь июль август сентябрь октябрь ноябрь декабрь",
    "січня лютого березня квітня травня червня липня серпня вересня жовтня листопада грудня",
    "січень лютий березень квітень травень червень липень серпень вересень жовтень листопад "
    "грудень",
)
_MONTHS = {  # casefolded, as the text they are looked for in
    name.casefold(): str(number % 12 + 1)
    for names in _MONTH_NAMES
    for number, name in enumerate(names.split())
}
#: What ends a sentence or a label: the word after it is capitalized as a matter of course.
_OPENERS = frozenset('.!?:;|«»"“”()[]—–-•')


def same_facts(a: str, b: str) -> bool:
    """Whether two short texts (raw) state the same facts: no number, month or name
    (a capitalized word inside a sentence) of one replaced by another in the other.

    Templated lines (a byline, a date line) of different posts share most of their
    characters: "Publié le 8 janvier 2023 par Claire Dubois" is not a copy of the
    same line dated 2015, nor of the one signed by Claire Durand (#19).  A typo
    elsewhere, a case change, final punctuation, or a fact only one side gives
    ("Thomas Jefferson" / "Jefferson") leave the facts as they are.
    """
    return not differ(facts(a), facts(b))


#: The numbers, months and names of a text, each a set of (word, its occurrence): a set
#: difference is then the difference of the counts ("le 2 ... 2 min" holds 2 twice).
Facts = tuple[frozenset[tuple[str, int]], frozenset[tuple[str, int]], frozenset[tuple[str, int]]]


def differ(a: Facts, b: Facts) -> bool:
    """Whether facts of one text (see `facts`) are replaced by others in the other.

    A name spelt with a typo is the same name: "Linux" / "Lnux", "Internet" / "Inetrnet"
    (see `_misspelt`).
    """
    if a == b:
        return False
    for kind, (mine, theirs) in enumerate(zip(a, b, strict=True)):
        extra, missing = mine - theirs, theirs - mine
        if extra and missing and not (kind == _NAMES and _misspelt(extra, missing)):
            return True
    return False


#: Where names are in Facts.
_NAMES = 2


def _misspelt(extra: frozenset[tuple[str, int]], missing: frozenset[tuple[str, int]]) -> bool:
    """Whether the names one text has and the other lacks pair up, each with its partner
    one typo apart: a letter dropped, doubled, replaced, or two swapped, the first letter
    kept, in a name of five letters or more ("Marc" / "Mark" are two names)."""
    left = [word for word, _ in missing]
    if len(extra) != len(left):
        return False
    for word, _ in sorted(extra):
        partner = next((other for other in left if _one_typo(word, other)), None)
        if partner is None:
            return False
        left.remove(partner)
    return True


def _one_typo(x: str, y: str) -> bool:
    return x[0] == y[0] and max(len(x), len(y)) >= 5 and OSA.distance(x, y, score_cutoff=1) <= 1


def states_more(part: Facts, whole: Facts) -> bool:
    """Whether a part (a child of a near duplicate) states a fact its survivor lacks."""
    return any(mine - theirs for mine, theirs in zip(part, whole, strict=True))


class Stating:
    """A text (a near duplicate's survivor, a whole page maybe) asked whether it lacks
    facts a part states: `Stating(text).lacks(part)` is `states_more(part, facts(text))`.

    The text is read only for the numbers and names the part states, each looked for
    where it occurs (`str.find`) and taken as `facts` would take it there: the facts of
    a French page of 4.8 KB took 0.6 ms, a few searches of it a few us.  Where a letter of
    the text folds to more than one (see `facts`), the text's facts are read whole.
    """

    def __init__(self, text: str) -> None:
        self.text = unicodedata.normalize("NFKC", text) if not text.isascii() else text
        self.folded = self.text.casefold()
        self._whole: Facts | None = None
        self._months: Counter[str] | None = None
        self._names: bool | None = None

    def lacks(self, part: Facts) -> bool:
        """Whether the part states a fact this text does not (`states_more`)."""
        if len(self.folded) != len(self.text):  # positions differ once folded
            if self._whole is None:
                self._whole = facts(self.text)
            return states_more(part, self._whole)
        numbers, months, names = (_most(kind) for kind in part)
        if months:
            if self._months is None:
                self._months = Counter(_MONTHS[month] for month in _MONTH.findall(self.folded))
            if any(self._months[month] < count for month, count in months.items()):
                return True
        if any(self._count(word, _is_number, count) < count for word, count in numbers.items()):
            return True
        if names and not self._names_read():
            return True
        return any(self._count(word, self._is_name, count) < count for word, count in names.items())

    def _count(self, word: str, taken: Callable[[str, int, int], bool], enough: int) -> int:
        """How many of the places `word` occurs at in the folded text `taken` says a fact
        is, counted up to `enough`."""
        found, at = 0, self.folded.find(word)
        while at != -1 and found < enough:
            found += taken(self.text, at, at + len(word))
            at = self.folded.find(word, at + 1)
        return found

    def _names_read(self) -> bool:
        """Whether `facts` reads names in the text: not a text in capitals."""
        if self._names is None:
            capitals = len(_UPPER.findall(self.text))
            lower = sum(1 for _ in itertools.islice(_LOWER.finditer(self.text), capitals))
            self._names = lower >= capitals
        return self._names

    @staticmethod
    def _is_name(text: str, start: int, end: int) -> bool:
        """Whether text[start:end] is a name `facts` counts: a capitalized word after white
        space after a character that ends no sentence, not all of it in capitals."""
        word = _CAPITALIZED_WORD.match(text, start)
        if word is None or word.end() != end:
            return False
        before = start
        while before > 0 and _SPACE.match(text, before - 1):
            before -= 1
        if before == start or before == 0:  # no white space before it, or only that
            return False
        return text[before - 1] not in _OPENERS and not text[start:end].isupper()


def _most(kind: frozenset[tuple[str, int]]) -> dict[str, int]:
    """Each word of a kind of facts and its count (its occurrences are 0, 1, ...)."""
    counts: dict[str, int] = {}
    for word, n in kind:
        counts[word] = max(counts.get(word, 0), n + 1)
    return counts


def _is_number(text: str, start: int, end: int) -> bool:
    """Whether text[start:end], a place a number occurs at once folded (so holding its
    digit), is a number `facts` counts: a whole word."""
    return (
        (start == 0 or not _WORD.match(text, start - 1))
        and (end == len(text) or not _WORD.match(text, end))
        and _WORDS.fullmatch(text, start, end) is not None
    )


_WORD = re.compile(r"\w")
_WORDS = re.compile(r"\w+")
_SPACE = re.compile(r"\s")


#: Tried at word starts: 2.3 times faster on French.
_NUMBER = re.compile(r"(?<!\w)\w*\d\w*")


def _alternatives(words: list[str]) -> str:
    """A pattern matching any of `words` (the longest first where one is another's start),
    branching a letter at a time: the engine then tries a few letters at a word's start,
    not every month of every calendar (one alternative a month took 3.2 times as long on
    French lines)."""
    if not words:
        return ""
    branches = []
    for letter in sorted({word[0] for word in words if word}):
        rest = _alternatives([word[1:] for word in words if word[:1] == letter])
        branches.append(re.escape(letter) + rest)
    group = "|".join(branches)
    if "" in words:  # a word ends here: tried after every longer one
        return f"(?:{group})?" if branches else ""
    return f"(?:{group})" if len(branches) > 1 else group


#: A month, in casefolded text: first a class of the letters months begin with, which rules
#: out most words at once, then the months branching a letter at a time.  Matched without
#: re.I, each branch's first letter is compared at once (with it, a branch was tried whole:
#: 9.2 us a line of the blog archives, against 4.3 for this and the casefold).
_MONTH_PATTERN = (
    rf"\b(?=[{''.join(sorted({re.escape(name[0]) for name in _MONTHS}))}])"
    rf"({_alternatives(sorted(_MONTHS))})\b"
)
_MONTH = re.compile(_MONTH_PATTERN)


@functools.cache
def _month_any_case() -> re.Pattern[str]:
    """`_MONTH` for text as written, compiled on first use (1.7 ms every process took at
    import): for a text with a letter that folds to two ("ß", "İ" to "i" and a combining
    dot, which ends a word where "İ" did not)."""
    return re.compile(_MONTH_PATTERN, re.I)


#: Where the capital and small letters of the alphabets of European web text are: Latin
#: (with its extensions and Vietnamese), Greek and Coptic, Cyrillic, Armenian.
_ALPHABETS = ((0x41, 0x590), (0x1E00, 0x2000), (0x2C60, 0x2C80), (0xA640, 0xA6A0), (0xA720, 0xA800))


def _letters(category: str) -> str:
    """A character class of the letters of `category` ("Lu", "Ll") in `_ALPHABETS`."""
    found = [
        code
        for low, high in _ALPHABETS
        for code in range(low, high)
        if unicodedata.category(chr(code)) == category
    ]
    runs = []  # consecutive code points as one range
    for _, run in itertools.groupby(enumerate(found), lambda item: item[1] - item[0]):
        codes = [code for _, code in run]
        first, last = re.escape(chr(codes[0])), re.escape(chr(codes[-1]))
        runs.append(first if len(codes) == 1 else f"{first}-{last}")
    return f"[{''.join(runs)}]"


_UPPER = re.compile(_letters("Lu"))
_LOWER = re.compile(_letters("Ll"))
#: A capitalized word and the character before it (a name, unless that ends a sentence).
_CAPITALIZED_WORD = re.compile(rf"{_UPPER.pattern}[^\W\d_]*")
_CAPITALIZED = re.compile(rf"(\S)\s+(?=({_CAPITALIZED_WORD.pattern}))")


@functools.lru_cache(maxsize=1 << 15)
def number_marks(text: str) -> int:
    """A mark of the numbers a text states (see `facts`): two bits of 31 for each number
    and its occurrence, by its hash.  Two texts whose marks each have a bit the other's
    lacks state other numbers (see `other_numbers`); a text without numbers marks none.

    Short units carry their mark to the main process, whose LSH makes no candidate pair
    the marks prove are other lines (templated records, dated bylines).  The marks of
    the texts met last are kept, a few thousand: a line seen on page after page (a
    sentence of a template, a dated byline) is marked once, not once a batch (8,000
    French documents: 24,302 marks asked for, 3,576 texts).
    """
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    mark = 0
    seen: dict[str, int] = {}  # each number's occurrences so far
    for word in _NUMBER.findall(text):
        word = word.casefold()
        n = seen[word] = seen.get(word, -1) + 1
        hashed = xxhash.xxh32_intdigest(word.encode("utf-8", "surrogatepass"), n)
        mark |= (1 << hashed % 31) | (1 << hashed // 31 % 31)  # two bits: fewer alike
    return mark


def marks_of(texts: list[str]) -> npt.NDArray[np.int64]:
    """The `number_marks` of each text, in C where it was built: one pass over each text,
    not a regular expression trying each place (a fifth of fingerprinting a million
    templated records)."""
    if native is None:
        return np.fromiter(map(number_marks, texts), dtype=np.int64, count=len(texts))
    return np.frombuffer(native.number_marks(texts, _nfkc), dtype=np.int64)


_nfkc = functools.partial(unicodedata.normalize, "NFKC")


def other_numbers(a: Any, b: Any) -> Any:
    """Whether (elementwise, for arrays) texts of these `number_marks` state other
    numbers, so `differ`: each holds a number the other lacks, as a bit the other's mark
    lacks.  Marks sharing every bit may still state other numbers; this only says yes
    when it is sure."""
    return ((a & ~b) != 0) & ((b & ~a) != 0)


def facts(text: str) -> Facts:
    """The numbers, months and names of a text, casefolded."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    numbers = Counter(map(str.casefold, _number_words(text)))
    folded = text.casefold()
    if len(folded) == len(text):  # each letter folds to one: words begin and end alike
        months = Counter(_MONTHS[month] for month in _MONTH.findall(folded))
    else:
        months = Counter(_MONTHS[month.casefold()] for month in _month_any_case().findall(text))
    names: Counter[str] = Counter()
    capitals = len(_UPPER.findall(text))  # not a line in capitals: as many lower case letters
    if sum(1 for _ in itertools.islice(_LOWER.finditer(text), capitals)) >= capitals:
        for before, word in _CAPITALIZED.findall(text):
            if before not in _OPENERS and not word.isupper() and word.casefold() not in _MONTHS:
                names[word.casefold()] += 1
    return _counted(numbers), _counted(months), _counted(names)


def _number_words(text: str) -> list[str]:
    """Every word of a text that holds a digit (`_NUMBER`), in C where it was built: the
    regular expression tried each place of a text (a sixth of verifying a million templated
    records)."""
    if native is None:
        found: list[str] = _NUMBER.findall(text)
        return found
    words: list[str] = native.number_words(text)
    return words


def _counted(counts: Counter[str]) -> frozenset[tuple[str, int]]:
    return frozenset((word, n) for word, count in counts.items() for n in range(count))
