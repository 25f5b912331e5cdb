"""Synthetic multi-channel brand group with ground truth: see `generate`."""

from databank.generator.generate import GenerateArgs, GenerationSummary, generate

__all__ = ["GenerateArgs", "GenerationSummary", "generate"]
