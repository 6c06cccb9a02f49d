"""The commands: thin layers over the engine and the local platform."""
