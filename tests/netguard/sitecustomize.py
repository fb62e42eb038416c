"""Loaded automatically by child Python processes of the tests (this folder is on PYTHONPATH)."""

import anyllm_netguard

anyllm_netguard.install()
