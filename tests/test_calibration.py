"""The decline model's fit: a logistic regression, and a threshold that keeps answerable questions."""

import numpy as np

from retrieval.calibration import calibrate, fit_logistic


def test_the_fit_finds_the_signal_that_separates():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(400, 2))
    y = (x[:, 1] + 0.05 * rng.standard_normal(400) > 0.5).astype(float)  # only the second signal matters
    w = fit_logistic(x, y)
    assert w[2] > 5 and abs(w[1]) < w[2] / 5


def test_the_threshold_declines_at_most_the_share_of_answerable_asked():
    rng = np.random.default_rng(1)
    answerable = np.column_stack([rng.uniform(0.3, 1, 300), rng.normal(0.85, 0.03, 300)])
    unanswerable = np.column_stack([rng.uniform(0, 0.6, 100), rng.normal(0.78, 0.03, 100)])
    x, y = np.vstack([answerable, unanswerable]), np.r_[np.ones(300, bool), np.zeros(100, bool)]
    strict, loose = calibrate(x, y, most_wrongly_declined=0.01), calibrate(x, y, most_wrongly_declined=0.05)
    assert strict.wrongly_declined <= 0.01 + 1 / 300 and loose.wrongly_declined <= 0.05 + 1 / 300
    assert loose.threshold > strict.threshold and loose.declined > strict.declined > 0.5
