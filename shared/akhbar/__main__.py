"""`python -m akhbar …`: the `akhbar` command (how `akhbar run` starts the inbox watcher)."""

import sys

from akhbar.cli import main

sys.exit(main())
