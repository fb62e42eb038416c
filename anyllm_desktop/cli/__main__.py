"""``python -m anyllm_desktop.cli``: the same as the ``anyllm`` command."""

import sys

from anyllm_desktop.cli import main

sys.exit(main())
