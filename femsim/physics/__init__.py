"""Weak forms only: pure functions of UFL objects returning UFL expressions/forms."""
