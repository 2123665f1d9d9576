"""Wikipedia unigram counts and high-PMI bigrams from pages-articles XML dumps, as a Beam job.

Input: one or more MediaWiki XML exports (enwiki-YYYYMMDD-pages-articles*.xml[.bz2], the
multistream or the split files), streamed and never loaded whole. Only articles count: pages in
namespace 0 that are not redirects.

Per page (plain functions, tested without Beam): strip the wiki markup (`strip_wikitext`), cut
the text into segments at line breaks and sentence punctuation, fold and tokenise each segment
with the matcher's own rules (queries/match_keys.py), count unigrams and within-segment bigrams.

The Beam composite `CountWikipediaNgrams` sums the counts over all pages, keeps words seen at
least `min_count` times, and scores each bigram seen at least `min_bigram_count` times whose two
words are both kept:

    pmi = log2( count(a b) * N / (count(a) * count(b)) )      N = all tokens counted

keeping those with pmi >= `pmi_threshold`. MetaCLIP's "PMI >= 30" reads as the ratio inside the
log, i.e. log2(30) = 4.9; the default threshold here is 5.0 (ratio 32).
"""

from __future__ import annotations

import html
import logging
import math
import re
from collections import Counter
from typing import Iterator

from wit.queries import spill
from wit.queries.match_keys import TOKEN_RE, fold
from wit.core.errors import WitError

log = logging.getLogger(__name__)

DEFAULT_MIN_COUNT = 100
DEFAULT_MIN_BIGRAM_COUNT = 100
DEFAULT_PMI_THRESHOLD = 5.0
PROGRESS_EVERY = 100_000  # articles between progress log lines (English Wikipedia has ~7 million)

# ---------------------------------------------------------------------------------------------
# Reading the XML export


def _local(tag: str) -> str:
    """'{http://www.mediawiki.org/xml/export-0.11/}page' -> 'page' (any export schema version)."""
    return tag.rsplit("}", 1)[-1]


def read_page(element) -> tuple[str, str] | None:
    """(title, wikitext) of a <page> element in namespace 0 that is not a redirect, else None."""
    title = ns = text = None
    redirect = False
    for child in element:
        name = _local(child.tag)
        if name == "title":
            title = child.text or ""
        elif name == "ns":
            ns = (child.text or "").strip()
        elif name == "redirect":
            redirect = True
        elif name == "revision":
            for part in child:
                if _local(part.tag) == "text":
                    text = part.text or ""
    if ns == "0" and not redirect and text:
        return title or "", text
    return None


def iter_fragment_articles(fragment: bytes, where: str) -> Iterator[tuple[str, str]]:
    """The articles of a run of <page> elements cut from a dump (a multistream piece, a byte range)."""
    import io
    import xml.etree.ElementTree as ET

    wrapped = io.BytesIO(b"<pages>" + fragment + b"</pages>")
    try:
        for _, element in ET.iterparse(wrapped, events=("end",)):
            if _local(element.tag) == "page":
                article = read_page(element)
                if article is not None:
                    yield article
                element.clear()
    except ET.ParseError as exc:
        raise WitError(f"Wikipedia dump {where}: malformed XML ({exc})") from None


def iter_articles(path: str) -> Iterator[tuple[str, str]]:
    """(title, wikitext) of every namespace-0, non-redirect page in a dump file.

    The file is streamed (bz2/gzip inferred from its name, any fsspec path); each <page> element
    is cleared once read, so memory stays flat however large the dump.
    """
    import xml.etree.ElementTree as ET

    from wit.core.storage import open_url

    try:
        opened = open_url(path, "rb", compression="infer")
        handle = opened.open()
    except FileNotFoundError:
        raise WitError(f"Wikipedia dump {path}: no such file") from None
    try:
        context = ET.iterparse(handle, events=("start", "end"))
        root = None
        articles = 0
        for event, element in context:
            if event == "start":
                if root is None:
                    root = element
                    if _local(root.tag) != "mediawiki":
                        raise WitError(f"Wikipedia dump {path}: root element is <{_local(root.tag)}>, not <mediawiki>")
                continue
            if _local(element.tag) != "page":
                continue
            article = read_page(element)
            if article is not None:
                articles += 1
                if articles % PROGRESS_EVERY == 0:
                    log.info("%s: %d articles read", path, articles)
                yield article
            element.clear()
            root.clear()  # drop the finished pages the root still references
    except ET.ParseError as exc:
        raise WitError(f"Wikipedia dump {path}: malformed XML ({exc})") from None
    except EOFError as exc:
        raise WitError(f"Wikipedia dump {path}: truncated compressed file ({exc})") from None
    finally:
        handle.close()


# ---------------------------------------------------------------------------------------------
# Wiki markup


_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
# Elements whose content the reader does not see as prose: references, formulas, code, galleries,
# image maps, and <includeonly> (shown only where a page is transcluded).
_DROPPED_BLOCKS = re.compile(
    r"<(ref|references|math|chem|ce|code|syntaxhighlight|source|pre|gallery|imagemap|timeline|score|graph|mapframe|maplink"
    r"|hiero|categorytree|inputbox|templatedata|templatestyles|includeonly)\b[^>]*?(?:/>|>.*?</\1\s*>)",
    re.S | re.I,
)
_BRACES = re.compile(r"\{\{|\}\}|\{\||\|\}")
_INNER_LINK = re.compile(r"\[\[([^\[\]]*)\]\]")
_EXTERNAL_LINK = re.compile(r"\[(?:https?:|ftp:)?//[^\s\]]*\s*([^\]]*)\]")
_BARE_URL = re.compile(r"(?:https?|ftp)://\S+")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_QUOTES = re.compile(r"'''*")  # two or more, written so that the regex engine scans for the literal ''
_HEADING = re.compile(r"^(=+)\s*(.*?)\s*\1\s*$", re.M)
_MAGIC_WORD = re.compile(r"__[A-Z]+__")
# Table rows and template parameters that survived unbalanced braces: never prose.
_MARKUP_LINE = re.compile(r"^[ \t]*(?:\{\||\|\}|\||!).*$", re.M)
_NESTING_LIMIT = 20  # links nest (a file caption holds links), but not deeper than this

# Links into these namespaces are not shown as text (a picture, or the page's category list);
# links into other namespaces (Wikipedia:, Help:, wikt: ...) show their label like any link.
_HIDDEN_LINK_NAMESPACES = frozenset({"file", "image", "category"})
_LANGUAGE_PREFIX = re.compile(r"[a-z]{2,3}(?:-[a-z]+)?|simple")


def _replace_link(match: re.Match) -> str:
    """[[target|label]] -> label, [[target]] -> target; file, category and interlanguage links -> ''."""
    target, _, label = match.group(1).partition("|")
    visible = target.startswith(":")  # [[:Category:X]] is an ordinary visible link
    prefix, colon, _ = target.lstrip(":").partition(":")
    prefix = prefix.strip().lower()
    if colon and not visible and (prefix in _HIDDEN_LINK_NAMESPACES or _LANGUAGE_PREFIX.fullmatch(prefix)):
        return " "
    return label.rsplit("|", 1)[-1] if label else target.lstrip(":")


def _at_line_start(text: str, position: int) -> bool:
    return not text[text.rfind("\n", 0, position) + 1 : position].strip()


def drop_templates_and_tables(text: str) -> str:
    """The text without its {{templates}} and {| tables |}, however they nest in each other.

    One scan with a stack, so a table inside a template (or a template inside a table cell) goes
    with its container, and a lone '{' or '}' inside a template does not upset the count. An
    opening that never closes drops the rest of its line only, not the rest of the article.
    """
    kept: list[str] = []
    stack: list[str] = []
    keep_from = position = opened_at = 0
    while True:
        match = _BRACES.search(text, position)
        if match is None:
            if not stack:
                break
            # Unclosed: drop the line it opened on, read on from the next line.
            line_end = text.find("\n", opened_at)
            position = keep_from = len(text) if line_end < 0 else line_end
            stack.clear()
            continue
        token, start = match.group(), match.start()
        if token == "{{" or (token == "{|" and _at_line_start(text, start)):
            if not stack:
                kept.append(text[keep_from:start])
                opened_at = start
            stack.append(token)
            position = start + 2
        elif token == "}}" and stack and stack[-1] == "{{":
            stack.pop()
            position = start + 2
            if not stack:
                keep_from = position
        elif token == "|}" and stack and stack[-1] == "{|" and _at_line_start(text, start):
            stack.pop()
            position = start + 2
            if not stack:
                keep_from = position
        else:
            position = start + 1  # '|' of '|}}', a brace in a table cell, or a stray closing
    kept.append(text[keep_from:])
    return "".join(kept)


def strip_wikitext(text: str) -> str:
    """Article prose as MediaWiki shows it, less what is not prose.

    Gone: comments, templates (infoboxes, citations, magic-word templates), tables, references,
    formulas, file and category links, interlanguage links, behaviour switches (__NOTOC__), HTML
    tags (their visible content stays) and external-link URLs (their labels stay).
    """
    text = _COMMENT.sub(" ", text)
    text = _DROPPED_BLOCKS.sub(" ", text)
    text = drop_templates_and_tables(text)
    # External links first: a file caption may hold one, and its single brackets would hide the
    # file link from the [[...]] pattern.
    text = _EXTERNAL_LINK.sub(lambda m: " " + m.group(1) + " ", text)
    for _ in range(_NESTING_LIMIT):  # innermost first: a file caption may hold links
        text, replaced = _INNER_LINK.subn(_replace_link, text)
        if not replaced:
            break
    if "://" in text:  # the pattern has no literal prefix to scan for: skip the scan when it cannot match
        text = _BARE_URL.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = _QUOTES.sub("", text)
    text = _HEADING.sub(lambda m: m.group(2) + ".", text)
    text = _MAGIC_WORD.sub(" ", text)
    if "|" in text or "!" in text:  # the same: every markup line holds one of them
        text = _MARKUP_LINE.sub(" ", text)
    return html.unescape(text)


# English clitics after a word: "Aristotle's", "it's", "they're", "we've", "I'll", "she'd", "I'm".
# Cut, so they do not become a lone 's' token and bigrams like 'aristotle s'; "n't" reads as 'not'.
# The pattern starts at the apostrophe (a literal the regex engine can scan for); what precedes
# it is checked in Python, once per hit, which keeps this pass 4x faster than a look-behind.
_CLITIC = re.compile(r"['\u2019](s|re|ve|ll|d|m|t)\b", re.I)


def drop_clitics(text: str) -> str:
    """Text with English clitics cut ("Aristotle's" -> 'Aristotle', "don't" -> 'do not')."""
    if "'" not in text and "\u2019" not in text:
        return text
    pieces: list[str] = []
    kept_to = 0
    for match in _CLITIC.finditer(text):
        start = match.start()
        if start == 0 or not text[start - 1].isalnum():
            continue  # "'s-Hertogenbosch", "rock 'n' roll": not a clitic
        if match.group(1).lower() != "t":
            pieces.append(text[kept_to:start])
        else:
            if text[start - 1] not in "nN":
                continue
            word_start = start - 1
            while word_start > kept_to and text[word_start - 1].isalnum():
                word_start -= 1
            word = text[word_start:start].lower()
            if word == "can":
                pieces.append(text[kept_to:start] + " not")
            elif word == "won":
                pieces.append(text[kept_to:word_start] + "will not")
            else:
                pieces.append(text[kept_to : start - 1] + " not")
        kept_to = match.end()
    pieces.append(text[kept_to:])
    return "".join(pieces)


# A bigram never spans a line break or sentence punctuation.
_SEGMENT_BREAK = re.compile(r"[\n.!?;:,()\[\]{}\"|\u2013\u2014]+")


def article_prose(wikitext: str) -> str:
    """What the counters read of an article: its prose, markup stripped and clitics cut."""
    return drop_clitics(strip_wikitext(wikitext))


def count_ngrams(wikitext: str, unigrams: Counter, bigrams: Counter) -> int:
    """Adds one article's words and within-segment pairs to the counters; returns its token count.

    Tokens are the matcher's (queries/match_keys.py), after English clitics are cut, so the list
    holds 'aristotle', never a lone 's' or the bigram 'aristotle s'. Counting straight into the
    caller's counters (C-level Counter.update of a list) avoids merging a per-article Counter.
    """
    return count_prose_ngrams(article_prose(wikitext), unigrams, bigrams)


def count_prose_ngrams(prose: str, unigrams: Counter, bigrams: Counter) -> int:
    """count_ngrams of prose already stripped (article_prose): the reference the C counter matches."""
    total = 0
    for segment in _SEGMENT_BREAK.split(prose):
        tokens = TOKEN_RE.findall(fold(segment))
        if not tokens:
            continue
        total += len(tokens)
        unigrams.update(tokens)
        if len(tokens) > 1:
            bigrams.update(map(" ".join, zip(tokens, tokens[1:])))
    return total


class PythonNgramCounter:
    """Words and within-segment word pairs of many articles' prose; the reference for the C counter.

    The interface of wit.queries._ngramcount.NgramCounter, which counts the same several times
    faster: add(prose) -> tokens counted, len() -> distinct words + pairs held, drain() ->
    ({word: count}, {"a b": count}) and empty again, drain_runs(partitions) -> the same counts as
    spill.run_buckets partitions (the C counter makes those without a Python object per key).
    """

    def __init__(self) -> None:
        self._unigrams: Counter = Counter()
        self._bigrams: Counter = Counter()

    def add(self, prose: str) -> int:
        return count_prose_ngrams(prose, self._unigrams, self._bigrams)

    def __len__(self) -> int:
        return len(self._unigrams) + len(self._bigrams)

    def drain(self) -> tuple[dict[str, int], dict[str, int]]:
        counts = dict(self._unigrams), dict(self._bigrams)
        self._unigrams.clear()
        self._bigrams.clear()
        return counts

    def drain_runs(self, partitions: int) -> tuple[list[bytes], list[bytes]]:
        """drain()'s two dicts as spill.run_buckets partitions (what a spill writes)."""
        if partitions < 1:
            raise ValueError("partitions must be >= 1")
        words, pairs = self.drain()
        return spill.run_buckets(words, partitions), spill.run_buckets(pairs, partitions)


try:  # the C counter is optional: without a compiler at install time the Python one is used
    from wit.queries._ngramcount import NgramCounter as _CNgramCounter
except ImportError:  # pragma: no cover - depends on the install
    _CNgramCounter = None


def ngram_counter(implementation: str = "auto"):
    """A word and pair counter: "c" (wit.queries._ngramcount), "python", or "auto" (C when built)."""
    if implementation == "auto":
        implementation = "c" if _CNgramCounter is not None else "python"
    if implementation == "c":
        if _CNgramCounter is None:
            raise ValueError("the C counter wit.queries._ngramcount is not built in this install")
        return _CNgramCounter(fold)
    if implementation == "python":
        return PythonNgramCounter()
    raise ValueError(f"unknown counter implementation {implementation!r} (auto, c, python)")


def article_ngram_counts(wikitext: str) -> tuple[Counter, Counter]:
    """(unigram counts, bigram counts) of one article's prose; bigrams are 'a b' strings."""
    unigrams: Counter = Counter()
    bigrams: Counter = Counter()
    count_ngrams(wikitext, unigrams, bigrams)
    return unigrams, bigrams


def keyed_ngram_counts(title_and_text: tuple[str, str]) -> Iterator[tuple[tuple[str, str], int]]:
    """(("u", word), n) and (("b", "a b"), n) pairs of one article, for a per-key sum."""
    unigrams, bigrams = article_ngram_counts(title_and_text[1])
    for word, n in unigrams.items():
        yield ("u", word), n
    for pair, n in bigrams.items():
        yield ("b", pair), n


def bigram_pmi(pair_count: int, first_count: int, second_count: int, total_tokens: int) -> float:
    """log2 of how much more often 'a b' occurs than if a and b were independent."""
    return math.log2(pair_count * total_tokens / (first_count * second_count))


def score_bigram(item: tuple[str, int], unigrams: dict[str, int], total_tokens: int, pmi_threshold: float):
    """Yields (bigram, count, pmi) when both words are kept unigrams and pmi reaches the threshold."""
    pair, pair_count = item
    first, _, second = pair.partition(" ")
    first_count = unigrams.get(first)
    second_count = unigrams.get(second)
    if first_count is None or second_count is None or total_tokens <= 0:
        return
    pmi = bigram_pmi(pair_count, first_count, second_count, total_tokens)
    if pmi >= pmi_threshold:
        yield pair, pair_count, pmi


# ---------------------------------------------------------------------------------------------
# The Beam job


def _ngram_kind(kind: str):
    def select(item):
        (item_kind, key), count = item
        if item_kind == kind:
            yield key, count

    return select


def build_count_transform(min_count: int, min_bigram_count: int, pmi_threshold: float):
    """The composite; a function so that importing this module does not import Beam."""
    import apache_beam as beam
    from apache_beam.io import fileio

    class CountWikipediaNgrams(beam.PTransform):
        """PCollection of dump paths or globs -> {"unigrams": (word, count), "bigrams": (pair, count, pmi)}."""

        def expand(self, patterns):
            totals = (
                patterns
                # Globs (gs://.../enwiki-*-pages-articles*.xml-p*.bz2) are expanded by the job, so
                # the launcher needs no access to the bucket; a pattern matching nothing fails.
                | "MatchDumps" >> fileio.MatchAll(empty_match_treatment=fileio.EmptyMatchTreatment.DISALLOW)
                | "DumpPaths" >> beam.Map(lambda metadata: metadata.path)
                | "SpreadDumps" >> beam.Reshuffle()
                | "ReadArticles" >> beam.FlatMap(iter_articles)
                # A dump file is read by one worker; spread its articles before the heavy part.
                | "SpreadArticles" >> beam.Reshuffle()
                | "CountPerArticle" >> beam.FlatMap(keyed_ngram_counts)
                | "SumCounts" >> beam.CombinePerKey(sum)
            )
            unigrams = totals | "Unigrams" >> beam.FlatMap(_ngram_kind("u"))
            bigrams = totals | "Bigrams" >> beam.FlatMap(_ngram_kind("b"))
            total_tokens = unigrams | "CountTokens" >> beam.Values() | "SumTokens" >> beam.CombineGlobally(sum)
            kept_unigrams = unigrams | "KeepFrequentWords" >> beam.Filter(lambda item: item[1] >= min_count)
            scored_bigrams = (
                bigrams
                | "KeepFrequentPairs" >> beam.Filter(lambda item: item[1] >= min_bigram_count)
                | "ScorePmi"
                >> beam.FlatMap(
                    score_bigram,
                    unigrams=beam.pvalue.AsDict(kept_unigrams),
                    total_tokens=beam.pvalue.AsSingleton(total_tokens),
                    pmi_threshold=pmi_threshold,
                )
            )
            return {"unigrams": kept_unigrams, "bigrams": scored_bigrams}

    return CountWikipediaNgrams()


def format_count_line(item) -> str:
    return "\t".join(str(value) for value in item)


def run_count_job(dump_paths: list[str], work_prefix: str, pipeline_options, min_count: int, min_bigram_count: int, pmi_threshold: float, runner=None) -> tuple[str, str]:
    """Runs the counting pipeline; returns the glob patterns of the unigram and bigram TSVs."""
    pipeline = build_count_job(dump_paths, work_prefix, pipeline_options, min_count, min_bigram_count, pmi_threshold, runner)
    pipeline.run().wait_until_finish()
    return work_prefix + "unigrams*.tsv", work_prefix + "bigrams*.tsv"


def build_count_job(dump_paths: list[str], work_prefix: str, pipeline_options, min_count: int, min_bigram_count: int, pmi_threshold: float, runner=None):
    """The counting pipeline, built and not run: dump files -> unigram and bigram TSVs under work_prefix."""
    import apache_beam as beam

    pipeline = beam.Pipeline(runner=runner, options=pipeline_options)
    results = (
        pipeline
        | "DumpPatterns" >> beam.Create(dump_paths)
        | "CountNgrams" >> build_count_transform(min_count, min_bigram_count, pmi_threshold)
    )
    results["unigrams"] | "FormatUnigrams" >> beam.Map(format_count_line) | "WriteUnigrams" >> beam.io.WriteToText(
        work_prefix + "unigrams", file_name_suffix=".tsv"
    )
    results["bigrams"] | "FormatBigrams" >> beam.Map(format_count_line) | "WriteBigrams" >> beam.io.WriteToText(
        work_prefix + "bigrams", file_name_suffix=".tsv"
    )
    return pipeline


def read_count_files(pattern: str) -> Iterator[list[str]]:
    """Rows of the TSVs the job wrote (any filesystem Beam knows)."""
    from apache_beam.io.filesystems import FileSystems

    for metadata in FileSystems.match([pattern])[0].metadata_list:
        with FileSystems.open(metadata.path) as handle:
            for raw in handle:
                line = raw.decode("utf-8").rstrip("\n")
                if line:
                    yield line.split("\t")
