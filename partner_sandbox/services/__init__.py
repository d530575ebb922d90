"""The use cases the APIs call, one store transaction each, on the partner's clock."""
