"""Participatory budgeting: which projects a vote funds (greedy by score, Method of Equal Shares)."""
