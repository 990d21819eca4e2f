"""Personal data in request texts: names, patterns, the detector and its evaluation."""
