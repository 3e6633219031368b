"""Yunying (运营): a grounded knowledge assistant for people who run internet businesses."""
