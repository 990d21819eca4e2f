"""Language and text: language id and the normalisation every classifier sees."""
