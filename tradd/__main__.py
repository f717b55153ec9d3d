"""`python -m tradd` is the same as the `tradd` console script."""

from tradd.cli.app import main

main()
