"""The thin shared library of the GEN NX tool-calling course.

Each module has one job; the notebooks import them and carry the narrative.
"""
