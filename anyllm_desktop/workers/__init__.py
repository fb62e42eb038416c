"""The only bridge between the Qt-free core and Qt threads."""
