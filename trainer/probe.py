"""Linear probe: logistic regression on frozen image features, as in the CLIP paper (appendix A.3).

The paper fits scikit-learn's L-BFGS logistic regression on the image encoder's features and
chooses the L2 regularisation strength C on a validation split by a sweep over a log range; the
chosen C is refitted on train + validation and the test top-1 reported. Here: C over
1e-6 .. 1e6 by decades, then quarter decades around the best decade; the smallest C among
equally good ones (the simplest model wins a tie). Features are the model's L2-normalised image
embeddings.
"""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np

from wit.trainer.labelled import LabelledImages, stratified_split
from wit.core.errors import WitError

log = logging.getLogger(__name__)

COARSE_EXPONENTS = tuple(range(-6, 7))
FINE_STEPS = (-0.75, -0.5, -0.25, 0.25, 0.5, 0.75)


def _logistic_regression():
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise WitError("the linear probe needs scikit-learn: pip install -c requirements/constraints.txt -e '.[train]'") from None
    return LogisticRegression


def fit_logistic(features: np.ndarray, labels: np.ndarray, c: float, max_iter: int = 1000):
    """An L-BFGS multinomial logistic regression; whether it converged is kept on the model."""
    from sklearn.exceptions import ConvergenceWarning

    model = _logistic_regression()(C=c, solver="lbfgs", max_iter=max_iter)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(features, labels)
    model.converged_ = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return model


def top1(model, features: np.ndarray, labels: np.ndarray) -> float:
    return float((model.predict(features) == labels).mean())


def sweep_c(train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray) -> tuple[float, dict[float, float]]:
    """(chosen C, {C: validation top-1}) over the coarse grid, then around its best decade."""
    scores: dict[float, float] = {}

    def score(exponent: float) -> None:
        c = float(10.0 ** exponent)
        if c not in scores:
            scores[c] = top1(fit_logistic(train_x, train_y, c), val_x, val_y)

    for exponent in COARSE_EXPONENTS:
        score(exponent)
    best_coarse = _best(scores)
    for step in FINE_STEPS:
        score(math.log10(best_coarse) + step)
    return _best(scores), dict(sorted(scores.items()))


def _best(scores: dict[float, float]) -> float:
    top = max(scores.values())
    return min(c for c, value in scores.items() if value == top)


def linear_probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                 val_fraction: float = 0.2, seed: int = 0) -> dict:
    """Choose C on a stratified validation split of the training features, refit on all of them, score the test set."""
    if len(set(train_y.tolist())) < 2:
        raise WitError("the linear probe needs training images of at least two classes")
    fit_indices, val_indices = stratified_split(train_y.tolist(), val_fraction, seed)
    if not val_indices:
        raise WitError("too few training images for a validation split: give each class at least two")
    chosen, sweep = sweep_c(train_x[fit_indices], train_y[fit_indices], train_x[val_indices], train_y[val_indices])
    final = fit_logistic(train_x, train_y, chosen)
    if not final.converged_:
        log.warning("the final logistic regression (C=%g) did not converge in %d iterations", chosen, final.max_iter)
    return {
        "train": len(fit_indices), "val": len(val_indices), "test": int(len(test_y)),
        "C": chosen, "val_top1": sweep[chosen], "top1": top1(final, test_x, test_y),
        "converged": bool(final.converged_), "sweep": {f"{c:.3g}": value for c, value in sweep.items()},
    }


def run_linear_probe(model, train: LabelledImages, test: LabelledImages, device="cpu", batch_size: int = 64,
                     val_fraction: float = 0.2, seed: int = 0) -> dict:
    """Encode both sets with the frozen image encoder, then `linear_probe` on the features."""
    from wit.trainer.evaluate import encode_image_files

    model.eval()
    size = model.config.image_size
    train_x = encode_image_files(model, train.sources, size, device, batch_size).cpu().numpy()
    test_x = encode_image_files(model, test.sources, size, device, batch_size).cpu().numpy()
    result = linear_probe(train_x, np.array(train.labels), test_x, np.array(test.labels), val_fraction, seed)
    return {"classes": len(train.class_names), **result}
