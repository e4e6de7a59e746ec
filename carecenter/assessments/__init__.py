"""Capacity assessments: the form as data, its scoring, and the signed assessments of residents."""
