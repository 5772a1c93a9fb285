"""``python -m isletbase``: the same command line as the ``isletbase`` script."""

from isletbase.cli import main

main()
