"""``python -m trackrecord``: the same as the ``trackrecord`` command."""

from trackrecord.cli import main

if __name__ == "__main__":
    main()
