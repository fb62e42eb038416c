"""``python -m anyllm_desktop`` starts the desktop app (the CLI is ``anyllm``)."""

import sys

from anyllm_desktop.app import main

sys.exit(main())
