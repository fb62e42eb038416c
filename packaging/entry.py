"""The bundle's one entry script: `anyllm` runs the CLI, `anyllm-desktop` the window.

Both executables of the PyInstaller bundle are built from this script (one Analysis, two EXEs
in one COLLECT), so they share every library; the executable's own name picks the front door.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> int:
    if Path(sys.executable).name == "anyllm":
        from anyllm_desktop.cli import main as cli_main

        return cli_main()
    from anyllm_desktop.app import main as app_main

    return app_main()


if __name__ == "__main__":
    sys.exit(main())
