from tests.local.conftest import dev as dev

__all__ = ["dev"]
