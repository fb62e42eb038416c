"""anyllm-desktop: chat with your own documents on local models, offline by default."""

__version__ = "0.1.0"
