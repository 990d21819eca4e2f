"""The one error a city pack raises, shared by the modules that build and load packs."""


class CityPackError(ValueError):
    """A city pack cannot be built or loaded; the message says which file and what to do."""
