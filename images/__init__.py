"""The images: build, push, list and smoke-test them on the Docker SDK, against Docker or Podman's socket."""
