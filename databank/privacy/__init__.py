"""Privacy by construction: what databank keeps of raw identifiers, sealed, and how erasure destroys it."""
