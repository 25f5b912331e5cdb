"""Audiences a brand can act on: YAML definitions compiled to bound DuckDB queries over the marts,
sized, and exported for activation under consent (`databank audience`)."""

from databank.audiences.activation import AudienceExport, AudienceSize, export_audience, size_audience
from databank.audiences.compiler import ACTIVATION_KEYS, compile_audience
from databank.audiences.definition import (
    Audience,
    AudienceDefinition,
    AudienceError,
    list_audiences,
    load_audience,
)

__all__ = [
    "ACTIVATION_KEYS",
    "Audience",
    "AudienceDefinition",
    "AudienceError",
    "AudienceExport",
    "AudienceSize",
    "compile_audience",
    "export_audience",
    "list_audiences",
    "load_audience",
    "size_audience",
]
