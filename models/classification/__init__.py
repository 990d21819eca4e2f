"""Request classifiers: features, candidates, calibration, training, model cards, the loader."""
