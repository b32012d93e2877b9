"""Names as people write them: the one rule for when two names are the same name. Pure text,
no models."""

import re
import unicodedata

# Runs of anything that is neither a letter nor a digit (spaces, hyphens, dots, brackets, "+").
NOT_WORD = re.compile(r"[\W_]+")


def normalise_name(text):
    """The form names are compared in: case folded, accents and other combining marks removed
    (NFKD), and every run of spaces and punctuation folded into one space.

    "Amazon Web Services", "amazon-web-services" and "AMAZON  web services." compare equal, as
    do "Montréal" and "Montreal", "GitHub" and "Github".
    """
    letters = text.casefold()
    if not letters.isascii():  # NFKD leaves ASCII as it is
        decomposed = unicodedata.normalize("NFKD", letters)
        letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    return NOT_WORD.sub(" ", letters).strip()
