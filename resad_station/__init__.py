"""ResAD Station application core: profiles, capture, live runtime, storage, command line.

Headless by design: nothing here imports Qt widgets or the ui package.
"""

__version__ = "0.1.0"
