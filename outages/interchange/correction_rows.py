"""Planning a document's corrections: their claim and fact, the sources that made and settle
the claim, and the archived version of the claiming source the claim was read in."""

from outages.models import ArchivedCopy


class Corrections:
    """The Importer's planning of corrections (see importing.Importer for the state it keeps)."""

    def correction_values(self, item, at, by_url):
        claimed_by = self.cited(item.get("claimed_by"), by_url, at + ["claimed_by"])
        return {
            "claim": item["claim"],
            "fact": item["fact"],
            "claimed_by": claimed_by,
            "settled_by": self.cited(item.get("settled_by"), by_url, at + ["settled_by"]),
            "claimed_in": self.claimed_in(item, claimed_by, at + ["claimed_in_version"]),
        }

    def claimed_in(self, item, claimed_by, at):
        """The archived copy `claimed_in_version` numbers among those of claimed_by's URL."""
        number = item.get("claimed_in_version")
        if number is None:
            return None
        if claimed_by is None:
            if not item.get("claimed_by"):  # else the claimed_by problem is already reported
                self.fail(at, "names a version of the claiming source; give claimed_by too")
            return None
        copies = ArchivedCopy.objects.citable().of_source(claimed_by)
        copy = copies.filter(number=number).defer("body").first()
        if copy is None:
            held = sorted(copies.values_list("number", flat=True))
            holds = ", ".join(f"version {n}" for n in held) if held else "none yet"
            self.fail(
                at, f"the archive holds no version {number} of {claimed_by.url} (it holds {holds})"
            )
        return copy
