"""Synthetic participation: participatory-budget elections (Pabulib files) and resident surveys."""
