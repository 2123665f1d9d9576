"""Scoring the filters against labelled data (shared/data): used by tests and the benchmark.

Labelled captions use the label set of shared/data/README.md, where boilerplate, empty text and
bare URLs share the label drop_other; the chain's reasons are mapped onto those labels.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# Chain reason -> dev-set label.
REASON_TO_LABEL = {
    None: "keep",
    "drop_filename": "drop_filename",
    "drop_camera": "drop_camera",
    "drop_nonenglish": "drop_nonenglish",
    "drop_boilerplate": "drop_other",
    "drop_length": "drop_other",
    "drop_url": "drop_other",
    "drop_error": "drop_other",
}
LABELS = ("keep", "drop_filename", "drop_camera", "drop_nonenglish", "drop_other")


@dataclass(frozen=True)
class LabelledCaption:
    text: str
    label: str
    source: str


def read_labelled_captions(path: str | Path) -> list[LabelledCaption]:
    """captions_dev.tsv: header text/label/source, tab-separated, CSV quoting."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        return [LabelledCaption(row["text"], row["label"], row.get("source", "")) for row in reader]


@dataclass(frozen=True)
class LabelScore:
    label: str
    support: int
    predicted: int
    correct: int

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.support if self.support else 1.0


def score_predictions(gold: list[str], predicted: list[str]) -> dict[str, LabelScore]:
    support, made, correct = Counter(gold), Counter(predicted), Counter()
    for g, p in zip(gold, predicted):
        if g == p:
            correct[g] += 1
    return {label: LabelScore(label, support[label], made[label], correct[label]) for label in LABELS}


def label_captions(chain, texts: list[str], url: str = "https://example.com/image.jpg") -> list[str]:
    """Run the chain on bare captions and return dev-set labels."""
    from wit.core.records import new_candidate

    return [REASON_TO_LABEL[chain.apply(new_candidate(url, text))] for text in texts]


def read_lid_dev(root: str | Path, kind: str, per_language: int | None = None) -> list[tuple[str, str]]:
    """(text, language) pairs from lid-dev/<kind>/<lang>.txt; the first per_language lines of each."""
    pairs = []
    for path in sorted(Path(root, kind).glob("*.txt")):
        with open(path, encoding="utf-8") as handle:
            lines = [line.strip() for line in handle if line.strip()]
        pairs += [(line, path.stem) for line in lines[:per_language]]
    return pairs


def english_f1(gold_languages: list[str], predicted_english: list[bool]) -> dict[str, float]:
    """Binary English-vs-rest figures, raw and prevalence-balanced.

    Raw precision/F1 use the classes as they come: in lid-dev ~500 English lines per kind sit
    among ~36,500 lines of 74 other languages, so a 0.3% false-positive rate already halves
    precision and raw F1 mostly measures the class ratio. Balanced precision weights each
    negative by n_pos / n_neg (the precision at a 50/50 prior), TPR / (TPR + FPR); balanced F1
    is the F1 of that precision and the recall. It depends only on recall (TPR) and the
    false-positive rate (FPR), so it does not change with how many languages the set holds.
    """
    tp = sum(1 for g, p in zip(gold_languages, predicted_english) if p and g == "en")
    fp = sum(1 for g, p in zip(gold_languages, predicted_english) if p and g != "en")
    fn = sum(1 for g, p in zip(gold_languages, predicted_english) if not p and g == "en")
    negatives = sum(1 for g in gold_languages if g != "en")
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    fpr = fp / negatives if negatives else 0.0
    balanced_precision = recall / (recall + fpr) if recall + fpr else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "fpr": fpr,
        "balanced_precision": balanced_precision,
        "balanced_f1": _f1(balanced_precision, recall),
        "f1_1to3": f1_at_ratio(recall, fpr, ISSUE_OTHERS_PER_ENGLISH),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "negatives": negatives,
    }


# The issue-19 measure: F1 on 400 English lines against 1,200 lines of other languages.
ISSUE_OTHERS_PER_ENGLISH = 3.0


def f1_at_ratio(recall: float, fpr: float, others_per_english: float) -> float:
    """F1 of 'is English' where each English line stands against `others_per_english` others,
    from the recall (TPR) and the false-positive rate: precision = TPR / (TPR + ratio x FPR).
    The expected F1 of a sample of that mix (400 English : 1,200 others is ratio 3)."""
    precision = recall / (recall + others_per_english * fpr) if recall + fpr else 0.0
    return _f1(precision, recall)


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def split_half(pairs: list, half: int) -> list:
    """Every other line of each language (half 0: 1st, 3rd, ...; half 1: 2nd, 4th, ...).

    For stability checks: tune on one half, report the other. `pairs` as from read_lid_dev.
    """
    seen: dict[str, int] = {}
    out = []
    for text, lang in pairs:
        index = seen.get(lang, 0)
        seen[lang] = index + 1
        if index % 2 == half:
            out.append((text, lang))
    return out


# The fixed split of captions_dev.tsv (and of any labelled file scored the same way): rules are
# tuned on "tune" and "holdout" is only ever reported, as a stand-in for unseen data. The part a
# row belongs to depends on its text alone, so it never changes when rows are added or reordered.
DEV_SPLITS = ("tune", "holdout")
TUNE_SHARE_PERCENT = 60


def dev_split(text: str) -> str:
    """'tune' for 60% of texts, 'holdout' for the rest: the first 8 bytes of the text's BLAKE2b
    hash, as an integer, modulo 100."""
    import hashlib

    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return "tune" if int.from_bytes(digest, "big") % 100 < TUNE_SHARE_PERCENT else "holdout"
