"""Entry point of the frozen build: the same CLI as ``tnbc-desktop`` (``gui`` opens the window)."""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # spawned feature-extraction and Dask worker processes
    from tnbc_desktop.cli import main

    sys.exit(main())
