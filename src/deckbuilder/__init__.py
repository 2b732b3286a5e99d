"""deckbuilder: the NLP Interview Master question bank -> Anki deck, PDFs, guides, study page."""

__version__ = "0.1.0"
