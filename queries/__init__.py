"""The query list (Wikipedia unigrams and bigrams, popular titles, WordNet) and the caption matcher."""
