"""``python -m docs.examples.demo``: serve the demo."""

from .app import main

main()
