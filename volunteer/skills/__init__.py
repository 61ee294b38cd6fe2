"""The skills taxonomy: categories, skills with zh/en names and synonyms."""
