"""Chat providers by name: what the settings, the CLI's --provider and the UI's picker list."""

from __future__ import annotations

from dataclasses import dataclass


class UnknownProviderError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


class OfflineModeError(RuntimeError):
    """A cloud provider was asked for while offline mode is on."""


@dataclass(frozen=True)
class ProviderInfo:
    name: str
    label: str
    #: Runs on this machine; a non-local provider sends the prompt over the network.
    local: bool


PROVIDERS: dict[str, ProviderInfo] = {
    "local": ProviderInfo("local", "Local model (llama.cpp)", local=True),
}
