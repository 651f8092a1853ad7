import sys

from tnbc_desktop.cli import main

sys.exit(main())
