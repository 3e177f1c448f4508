"""The package version, in a module of its own so that nothing imports the package root.

Changes whenever some seed's results change (0.2.0: Marsaglia–Tsang Gamma on a ziggurat
normal in the events engine). Results, figure JSON and sweep cells record it, and a sweep
stored by another version is not resumed into. Read it as ``_version.__version__`` at call
time (not ``from ._version import __version__``) so a test can stand in another version.
"""

__version__ = "0.2.0"
